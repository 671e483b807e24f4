import { describe, expect, it } from "vitest";
import { collectPages, findInPages, walkPages } from "../../provider/pagination";

// A list of n items served the way the API pages them.
function source(n: number) {
  const calls: Array<[number, number]> = [];
  const fetch = async (page: number, pageSize: number) => {
    calls.push([page, pageSize]);
    const data = Array.from({ length: n }, (_, i) => i).slice((page - 1) * pageSize, page * pageSize);
    return {
      data,
      pagination: { page, page_size: pageSize, page_count: Math.ceil(n / pageSize), total_count: n },
    };
  };
  return { calls, fetch };
}

describe("pagination", () => {
  it("reads at the maximum page size and stops at the page holding the answer", async () => {
    const s = source(1_200);
    expect(await findInPages(s.fetch, (i) => i === 700)).toBe(700);
    expect(s.calls).toEqual([
      [1, 500],
      [2, 500],
    ]);
  });
  it("reads every page when it must, and no more", async () => {
    const s = source(1_001);
    expect((await collectPages(s.fetch, (i) => i % 100 === 0)).length).toBe(11);
    expect(s.calls.map(([p]) => p)).toEqual([1, 2, 3]);
    const empty = source(0);
    expect(await walkPages(empty.fetch, () => undefined)).toBe(1);
    expect(await findInPages(source(10).fetch, (i) => i === 99)).toBeUndefined();
  });
});
