// Loads a synthesized Lambda bundle in this fresh Node process, as the Node.js runtime does
// (an ESM import of the asset's index.mjs, nothing but @aws-sdk/* resolvable beside it), and
// invokes its `handler` export with each event in turn.
// Usage: node invoke-bundle.mjs <asset>/index.mjs <input.json> <output.json>
//   input:  { "events": [ ... ] }
//   output: { "results": [ { "response": ... } | { "error": { "name", "message" } } ] }
// Plain JavaScript on purpose: no TypeScript loader may stand between the bundle and Node.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, input, output] = process.argv.slice(2);
if (!bundle || !input || !output)
  throw new Error('usage: node invoke-bundle.mjs <index.mjs> <input.json> <output.json>');
const { events } = JSON.parse(readFileSync(input, 'utf8'));
const lambda = await import(pathToFileURL(bundle).href);
if (typeof lambda.handler !== 'function')
  throw new Error(`${bundle} exports no handler function (exports: ${Object.keys(lambda)})`);

const results = [];
for (const [index, event] of events.entries()) {
  const deadline = Date.now() + 600_000;
  const context = {
    functionName: 'fstore-bundle-smoke',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fstore-bundle-smoke',
    memoryLimitInMB: '1024',
    awsRequestId: `smoke-${index}`,
    logGroupName: '/aws/lambda/fstore-bundle-smoke',
    logStreamName: 'smoke',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    results.push({ response: await lambda.handler(event, context) });
  } catch (error) {
    results.push({ error: { name: error?.name, message: error?.message } });
  }
}
writeFileSync(output, JSON.stringify({ results }));
