import type { Migration } from '../core/db/index.ts';

// The tables of API keys, their daily upload usage, direct uploads and the URL signing secret. One statement per migration.
export const accessMigrations: readonly Migration[] = [
  {
    id: 'processing/access_001_api_keys',
    // secret_hash: SHA-256 of the key's secret part; the key itself is shown once, at creation.
    sql: `create table processing_api_keys (
      id text primary key,
      name text not null,
      scopes jsonb not null,
      secret_hash text not null,
      created_at timestamptz not null,
      expires_at timestamptz,
      last_used_at timestamptz,
      revoked_at timestamptz
    )`,
  },
  {
    id: 'processing/access_002_key_usage',
    sql: `create table processing_key_usage (
      key_id text not null,
      day date not null,
      bytes bigint not null,
      primary key (key_id, day)
    )`,
  },
  {
    id: 'processing/access_003_direct_uploads',
    // id is also the id of the video the upload becomes (and of its tus upload); token_hash: SHA-256 of the URL's token.
    sql: `create table processing_direct_uploads (
      id text primary key,
      token_hash text not null unique,
      key_id text,
      max_bytes bigint not null,
      labels jsonb not null,
      email text,
      allowed_origin text,
      created_at timestamptz not null,
      expires_at timestamptz not null,
      receiving_since timestamptz,
      used_at timestamptz
    )`,
  },
  {
    id: 'processing/access_004_signing_secret',
    // One row: the HMAC key of status tokens and signed output URLs, shared by every process on the database.
    sql: 'create table processing_signing_secret (id integer primary key check (id = 1), secret text not null)',
  },
  {
    id: 'processing/access_005_direct_upload_callback',
    // Where the events of the video a direct upload becomes go too (the upload's callbackUrl), checked when the link was made.
    sql: 'alter table processing_direct_uploads add column callback_url text',
  },
];
