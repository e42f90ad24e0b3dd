// `node --import ./module-recorder.mjs`: writes every module the process loads to the file named
// by FSTORE_MODULE_LOG, one a line: ESM module URLs as they load, and at exit the CommonJS
// modules (require.cache), which a require() inside CommonJS loads without the ESM loader.
import { appendFileSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const log = process.env.FSTORE_MODULE_LOG;
if (!log) throw new Error('module-recorder.mjs: set FSTORE_MODULE_LOG to the file to write');
writeFileSync(log, '');
register(new URL('./module-recorder-hooks.mjs', import.meta.url), { data: { log } });

const require = createRequire(import.meta.url);
process.on('exit', () => {
  const commonJs = Object.keys(require.cache).map((file) => pathToFileURL(file).href);
  appendFileSync(log, commonJs.map((url) => `${url}\n`).join(''));
});
