import { describe, expect, it } from 'vitest';
import { DefinitionError } from '../../../lib/definitions/index.ts';
import {
  compileRegistry,
  DefinitionsLoadError,
  loadDefinitions,
} from '../../../lib/registry/index.ts';
import { writeDefs } from '../../helpers/run-fstore.ts';

const views = `import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({
  name: 'customer_profiles',
  schema: { customer_id: 'string', monthly_charges: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const customerProfile = defineFeatureView({
  name: 'customer_profile',
  entities: [customer],
  source: profiles,
  features: { monthly_charges: 'float64' },
});
`;

async function loadError(files: Record<string, string>): Promise<unknown> {
  const dir = await writeDefs(files);
  try {
    compileRegistry(await loadDefinitions(dir));
  } catch (error) {
    return error;
  }
  throw new Error('expected loading the definitions to fail');
}

describe('definition errors from files name the file and the line of the define call', () => {
  it('gives the line of the defineFeatureService call whose selection names a missing feature', async () => {
    const error = await loadError({
      'views.ts': views,
      'services.ts': `import { defineFeatureService } from 'fstore:definitions';
import { customerProfile } from './views.ts';

export const churnV1 = defineFeatureService({
  name: 'churn_v1',
  features: [customerProfile.select(['monthly_charge'])],
});
`,
    });
    expect(error).toBeInstanceOf(DefinitionError);
    const [issue] = (error as DefinitionError).issues;
    expect(issue).toMatchObject({
      file: 'services.ts',
      line: 4,
      definition: 'feature service "churn_v1"',
    });
    expect((error as DefinitionError).message).toBe(
      'services.ts:4: feature service "churn_v1" field "features[customer_profile].monthly_charge": view "customer_profile" has no feature "monthly_charge" (it has monthly_charges); did you mean "monthly_charges"?. Fix: fix the feature name or add the feature to the view',
    );
  });

  it('gives the line of the view defined in an imported file, blaming that file', async () => {
    const error = await loadError({
      'services.ts': `import { defineFeatureService } from 'fstore:definitions';
import { customerProfile } from './views.ts';
export const churnV1 = defineFeatureService({ name: 'churn_v1', features: [customerProfile] });
`,
      'views.ts': views.replace(
        "features: { monthly_charges: 'float64' }",
        "features: { monthly_charge: 'float64' }",
      ),
    });
    const [issue] = (error as DefinitionError).issues;
    expect(issue).toMatchObject({ file: 'views.ts', line: 8, field: 'features.monthly_charge' });
    expect(issue?.message).toMatch(/did you mean "monthly_charges"\?$/);
  });

  it('suggests the closest name written in the file for a misspelled view in a service', async () => {
    const error = await loadError({
      'views.ts': views,
      'services.ts': `import { defineFeatureService } from 'fstore:definitions';
import { customerProfile } from './views.ts';
export const churnV1 = defineFeatureService({ name: 'churn_v1', features: [customerProfle] });
`,
    });
    expect(error).toBeInstanceOf(DefinitionsLoadError);
    expect((error as Error).message).toBe(
      'services.ts failed to load: ReferenceError: customerProfle is not defined; did you mean "customerProfile"?',
    );
  });

  it('suggests nothing for an undefined name unlike any in the file', async () => {
    const error = await loadError({
      'views.ts': views,
      'services.ts': `import { defineFeatureService } from 'fstore:definitions';
export const churnV1 = defineFeatureService({ name: 'churn_v1', features: [zzzq] });
`,
    });
    expect((error as Error).message).toBe(
      'services.ts failed to load: ReferenceError: zzzq is not defined',
    );
  });
});
