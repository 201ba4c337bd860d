/** Hydration entry of the `/demo` page (served as `/islands/demo_dashboard_entry.js`). */
import { hydrateIsland } from "../lib/client/hydrate.ts";
import DemoDashboard from "./DemoDashboard.tsx";

hydrateIsland(DemoDashboard);
