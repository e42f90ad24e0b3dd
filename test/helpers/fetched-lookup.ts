import type { Item, LookupRequest } from '../../lib/online/lookup-plan.ts';
import { planLookup } from '../../lib/online/lookup-plan.ts';
import type { FetchedLookup } from '../../lib/online/online-lookup.ts';
import type { Registry } from '../../lib/registry/index.ts';

/**
 * A lookup's read as fetchLookup returns it, with the items `itemFor` gives for each entity and
 * requested view instead of a store's, for tests of what is made of the items.
 */
export function fetchedLookupOf(
  registry: Registry,
  request: LookupRequest,
  itemFor: (
    entity: LookupRequest['entities'][number],
    selection: LookupRequest['views'][number],
  ) => Item | undefined,
  nowMicros = 1_772_323_200_000_000n,
): FetchedLookup {
  const planned = planLookup(registry, request);
  const items = request.entities.flatMap((entity) =>
    request.views.map((selection) => itemFor(entity, selection)),
  );
  return { ...planned, items, nowMicros };
}
