// Checks dist/server.json, the MCP registry entry `make release` writes:
// valid against the registry's published schema (packaging/registry/, a
// copy with its source and licence: CI cannot reach the web), the version
// of the build, and every bundle it names present with its SHA-256.
//   node validate.mjs DIST VERSION
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const [dist, version] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const schema = JSON.parse(readFileSync(path.join(root, 'packaging/registry/server.schema.json'), 'utf8'));
const server = JSON.parse(readFileSync(path.join(dist, 'server.json'), 'utf8'));

// strict: false, as the registry's own validator: the schema carries
// OpenAPI words (example, discriminator) that are not JSON Schema keywords.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);
assert.ok(validate(server), `server.json: ${ajv.errorsText(validate.errors)}`);
assert.equal(server.$schema, schema.$id, 'server.json names another schema version than the one it is checked against');

// The check can fail: a broken copy must not pass.
const broken = structuredClone(server);
broken.packages[1].fileSha256 = 'not-a-hash';
delete broken.description;
assert.ok(!validate(broken), 'the schema accepted a server.json without description and with a bad hash');

assert.equal(server.version, version);
const bundles = server.packages.filter((p) => p.registryType === 'mcpb');
assert.equal(bundles.length, 5, `${bundles.length} bundles in server.json`);
for (const b of bundles) {
  const file = path.join(dist, path.basename(new URL(b.identifier).pathname));
  const sum = createHash('sha256').update(readFileSync(file)).digest('hex');
  assert.equal(b.fileSha256, sum, `${file}: SHA-256 in server.json`);
  assert.ok(b.identifier.includes(`/v${version}/`), `${b.identifier} is not the release's URL`);
}
const oci = server.packages.find((p) => p.registryType === 'oci');
assert.ok(oci && oci.identifier.endsWith(`:${version}`), 'the container image entry');
console.error(`e2e/release: server.json valid against ${schema.$id}; ${bundles.length} bundles with matching SHA-256`);
