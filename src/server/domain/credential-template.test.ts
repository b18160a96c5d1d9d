// Property tests of the template schema: valid templates pass, each broken rule is named, and the HTTP schema agrees with zod.
import AjvCompiler from '@fastify/ajv-compiler';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AJV_OPTIONS, jsonSchema } from '../routes/route-schema.ts';
import { CARD_TYPE_LIMITS } from './card-types.ts';
import { exampleTemplates, templateDefinitionSchema, templateViolations, type TemplateDefinition } from './credential-template.ts';
import { UNBLOCK_METHODS } from './unblock-methods.ts';

const validTemplate: fc.Arbitrary<TemplateDefinition> = fc.constantFrom('piv' as const, 'gids' as const).chain((cardType) => {
  const limits = CARD_TYPE_LIMITS[cardType];
  return fc
    .record({
      name: fc.stringMatching(/^[A-Za-z0-9 ._-]{1,40}$/),
      minLength: fc.integer({ min: limits.pinLength.min, max: limits.pinLength.max }),
      extra: fc.integer({ min: 0, max: 8 }),
      maxAgeDays: fc.integer({ min: 0, max: 3650 }),
      warning: fc.integer({ min: 0, max: 365 }),
      methods: fc.subarray(UNBLOCK_METHODS.filter((m) => cardType === 'gids' || m !== 'windows-native')),
      factors: fc.subarray(['directory-password', 'security-questions', 'one-time-code'] as const, { minLength: 1 }),
      retry: fc.integer({ min: 1, max: 15 }),
      approval: fc.boolean(),
      offlinePerDay: fc.integer({ min: 0, max: 100 }),
    })
    .map((r) => ({
      name: r.name,
      cardType,
      pinPolicy: {
        minLength: r.minLength,
        maxLength: Math.min(limits.pinLength.max, r.minLength + r.extra),
        allowedCharacters: 'digits' as const,
        forbidAllSame: true,
        forbidSequences: true,
        useBuiltInBlocklist: true,
        blocklist: [],
        historyDepth: 3,
        maxAgeDays: r.maxAgeDays,
        warningDays: r.maxAgeDays === 0 ? 0 : Math.min(r.warning, r.maxAgeDays - 1),
        pinRetryLimit: r.retry,
        pukRetryLimit: limits.hasPuk ? r.retry : null,
      },
      unblockMethods: r.methods,
      selfServiceIdentity: { factors: r.factors, minimumFactors: 1 },
      offline: { approvalRequired: r.approval, maxResponsesPerCredentialPerDay: r.offlinePerDay },
    }));
});

const codes = (t: TemplateDefinition): string[] => templateViolations(t).map((v) => v.code);

describe('credential template schema', () => {
  it('accepts the example templates', () => {
    for (const template of exampleTemplates()) {
      expect(templateDefinitionSchema.parse(template)).toEqual(template);
      expect(codes(template)).toEqual([]);
    }
  });

  it('accepts every template built within the card type limits', () => {
    fc.assert(
      fc.property(validTemplate, (template) => {
        expect(templateDefinitionSchema.safeParse(template).success).toBe(true);
        expect(codes(template)).toEqual([]);
      }),
    );
  });

  it('names a PIN length outside the card type range', () => {
    fc.assert(
      fc.property(validTemplate, fc.integer({ min: 1, max: 16 }), (template, length) => {
        const limits = CARD_TYPE_LIMITS[template.cardType].pinLength;
        const changed = { ...template, pinPolicy: { ...template.pinPolicy, minLength: length, maxLength: Math.max(length, template.pinPolicy.maxLength) } };
        const outOfRange = length < limits.min || changed.pinPolicy.maxLength > limits.max;
        expect(codes(changed).includes('ERR_TEMPLATE_PIN_LENGTH_OUT_OF_RANGE')).toBe(outOfRange);
      }),
    );
  });

  it('reports every broken cross-field rule at once', () => {
    const [piv] = exampleTemplates();
    const broken: TemplateDefinition = {
      ...piv!,
      pinPolicy: { ...piv!.pinPolicy, minLength: 8, maxLength: 7, warningDays: 400, maxAgeDays: 365, pukRetryLimit: null },
      unblockMethods: ['user-app', 'windows-native', 'user-app'],
      selfServiceIdentity: { factors: [], minimumFactors: 0 },
    };
    expect(codes(broken).sort()).toEqual(
      [
        'ERR_TEMPLATE_PIN_LENGTH_INVERTED',
        'ERR_TEMPLATE_WARNING_DAYS',
        'ERR_TEMPLATE_PUK_RETRY_LIMIT',
        'ERR_TEMPLATE_DUPLICATE_METHOD',
        'ERR_TEMPLATE_METHOD_UNSUPPORTED',
        'ERR_TEMPLATE_SELF_SERVICE_WITHOUT_IDENTITY',
      ].sort(),
    );
  });

  it('the JSON schema Fastify validates with agrees with the zod schema on arbitrary input', () => {
    // The same compiler and options Fastify uses for request bodies.
    const compile = AjvCompiler()({}, { customOptions: AJV_OPTIONS });
    const validate = compile({ schema: jsonSchema(templateDefinitionSchema), method: 'POST', url: '/', httpPart: 'body' });
    const mutated = validTemplate.chain((t) =>
      fc.oneof(
        fc.constant(t as unknown),
        fc.record({ key: fc.constantFrom('name', 'cardType', 'pinPolicy', 'unblockMethods', 'offline', 'extra'), value: fc.jsonValue() }).map(({ key, value }) => ({ ...t, [key]: value })),
        fc.record({ key: fc.constantFrom('minLength', 'allowedCharacters', 'blocklist', 'pukRetryLimit', 'unknown'), value: fc.jsonValue() }).map(({ key, value }) => ({
          ...t,
          pinPolicy: { ...t.pinPolicy, [key]: value },
        })),
      ),
    );
    fc.assert(
      fc.property(mutated, (input) => {
        expect(validate(input)).toBe(templateDefinitionSchema.safeParse(input).success);
      }),
      { numRuns: 300 },
    );
  });
});
