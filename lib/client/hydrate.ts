/**
 * Browser side of `lib/page.tsx`: hydrates the page's island with the props the server serialised.
 * Each island's entry file is one line: `hydrateIsland(MyIsland)`.
 */
import { type ComponentType, h, hydrate } from "preact";

/** The element the island renders into, and the script holding its props (written by `lib/page.tsx`). */
export const ISLAND_ROOT_ID = "island";
export const ISLAND_PROPS_ID = "island-props";

/** Hydrates the server-rendered island with its serialised props; does nothing outside such a page. */
export function hydrateIsland<P>(island: ComponentType<P>): void {
  const root = document.getElementById(ISLAND_ROOT_ID);
  const json = document.getElementById(ISLAND_PROPS_ID)?.textContent;
  if (!root || !json) return;
  const props = JSON.parse(json) as P & Record<string, unknown>;
  hydrate(h(island as ComponentType<Record<string, unknown>>, props), root);
}
