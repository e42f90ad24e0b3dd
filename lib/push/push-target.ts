/** Where a push's rows go: the online store, the offline store, or both (the default). */
export const pushTargets = ['online', 'offline', 'online_and_offline'] as const;
export type PushTarget = (typeof pushTargets)[number];

export const defaultPushTarget: PushTarget = 'online_and_offline';

export const writesOnline = (to: PushTarget) => to !== 'offline';
export const writesOffline = (to: PushTarget) => to !== 'online';
