/** The entity delete's own bookkeeping in the offline bucket (no row, no key value). */
export const erasureJournalPrefix = '_fstore/erasure/';
