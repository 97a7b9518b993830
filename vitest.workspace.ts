/**
 * The one list of test projects in this workspace. vitest 5 no longer reads this
 * file by itself: `vitest.config.ts` imports it as `test.projects`.
 */
export default ["packages/*/vitest.config.ts"]
