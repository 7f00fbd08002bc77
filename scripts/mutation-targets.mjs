// What `npm run mutate` mutates, and the compiled unit tests that must notice each change.
export const MUTATION_TARGETS = {
  outbox: {
    mutate: ['src/channels/outbox-dispatcher.ts'],
    tests: ['dist/src/channels/outbox-dispatcher.test.js'],
  },
  routing: {
    mutate: ['src/routing/*.ts', '!src/routing/*.test.ts'],
    tests: ['dist/src/routing/inbound-policy.test.js', 'dist/src/routing/session-keys.test.js', 'dist/src/channels/channel-manager.test.js'],
  },
  store: {
    mutate: ['src/store/sqlite/*.ts', '!src/store/sqlite/*.test.ts'],
    tests: [
      'dist/src/store/sqlite/sqlite-store.test.js',
      'dist/src/store/sqlite/stored-rows.test.js',
      'dist/src/store/sqlite/store-damage.test.js',
      'dist/src/store/sqlite/store-salvage.test.js',
      'dist/src/store/sqlite/wal-checkpointer.test.js',
      'dist/src/channels/channel-manager.test.js',
    ],
  },
};
