// Walking list endpoints: always at the largest page the API allows (fewest calls), stopping as soon as the
// answer is known.
import type { Pagination } from "./clients/dynamiq";

/** The most a list endpoint returns per page (documented for access keys and tokens). */
export const MAX_PAGE_SIZE = 500;

export type PageFetcher<T> = (
  page: number,
  pageSize: number,
) => Promise<{ data: T[]; pagination?: Pagination }>;

/** Pages until `visit` returns true (found) or the pages run out; returns how many pages were read. */
export async function walkPages<T>(
  fetch: PageFetcher<T>,
  visit: (item: T) => boolean | void,
  pageSize = MAX_PAGE_SIZE,
): Promise<number> {
  for (let page = 1; ; page++) {
    const { data, pagination } = await fetch(page, pageSize);
    for (const item of data ?? []) if (visit(item) === true) return page;
    const last = pagination ? page >= pagination.page_count : (data ?? []).length < pageSize;
    if (last || (data ?? []).length === 0) return page;
  }
}

/** The first item that matches, reading no further page than needed. */
export async function findInPages<T>(
  fetch: PageFetcher<T>,
  match: (item: T) => boolean,
  pageSize = MAX_PAGE_SIZE,
) {
  let found: T | undefined;
  await walkPages(
    fetch,
    (item) => {
      if (match(item)) {
        found = item;
        return true;
      }
    },
    pageSize,
  );
  return found;
}

/** Every item that matches, across all pages, or up to the first item for which `until` holds. */
export async function collectPages<T>(
  fetch: PageFetcher<T>,
  match: (item: T) => boolean,
  until: (item: T) => boolean = () => false,
  pageSize = MAX_PAGE_SIZE,
) {
  const out: T[] = [];
  await walkPages(
    fetch,
    (item) => {
      if (until(item)) return true;
      if (match(item)) out.push(item);
    },
    pageSize,
  );
  return out;
}

/**
 * Every item that matches among those created at or after `since`, on a list ordered newest first: the walk
 * stops at the first item created earlier, so it reads only the pages of the window.
 */
export function collectNewestSince<T extends { created_at?: string | null }>(
  fetch: PageFetcher<T>,
  match: (item: T) => boolean,
  since: number,
) {
  return collectPages(fetch, match, (item) => Date.parse(item.created_at ?? "") < since);
}
