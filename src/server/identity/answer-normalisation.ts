// Makes security-question answers compare the way people mean them: case, spacing and accents do not matter.

/** NFKD, combining marks stripped, lower case, punctuation-free runs of spaces collapsed: "  Zoë  O'Neil " → "zoe o'neil". */
export function normaliseAnswer(answer: string): string {
  return answer
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim();
}
