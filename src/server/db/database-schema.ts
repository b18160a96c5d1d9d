// Row types of Tessera's own tables, as Kysely sees them (times are ISO-8601 text, flags 0/1, JSON as text).
export interface RoleRow {
  id: string;
  name: string;
  permissions: string;
  offline_limits: string;
  built_in: number;
  created_at: string;
}

export interface OperatorRow {
  id: string;
  name: string;
  role_id: string;
  holder_id: string | null;
  status: string;
  public_key_spki: string | null;
  enrolment_code_hash: string | null;
  enrolment_expires_at: string | null;
  created_at: string;
}

export interface TemplateRow {
  id: string;
  name: string;
  card_type: string;
  definition: string;
  version: number;
  locked_by: string | null;
  locked_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface CredentialRow {
  id: string;
  card_type: string;
  card_identifier: string;
  holder_id: string;
  holder_name: string;
  holder_email: string | null;
  template_id: string;
  state: string;
  pin_changed_at: string | null;
  pin_expires_at: string | null;
  key_version: number;
  puk_escrow_state: string;
  puk_sealed: string | null;
  yubikey_serial: string | null;
  row_version: number;
  lease_owner: string | null;
  lease_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface PinHistoryRow {
  id: string;
  credential_id: string;
  mac: string;
  created_at: string;
}

export interface OperatorSessionRow {
  token_hash: string;
  operator_id: string;
  expires_at: string;
  created_at: string;
}

export interface SignInChallengeRow {
  id: string;
  operator_name: string;
  nonce: string;
  expires_at: string;
  used: number;
}

export interface ServerSettingRow {
  key: string;
  value: string;
}

export interface Database {
  roles: RoleRow;
  operators: OperatorRow;
  credential_templates: TemplateRow;
  credentials: CredentialRow;
  pin_history: PinHistoryRow;
  operator_sessions: OperatorSessionRow;
  sign_in_challenges: SignInChallengeRow;
  server_settings: ServerSettingRow;
}
