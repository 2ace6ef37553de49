// @ts-check
// Deliberately wrong (see tsconfig.broken.json): a Home result whose template Workspace does not have.

/** @type {import('@openfin/workspace').HomeSearchResult} */
export const broken = { key: 'k', title: 't', actions: [], template: 'Nope', templateContent: '' };
