/**
 * The dashboard's defaults that the command line shows in its help. Kept apart from dashboard.ts so that declaring
 * the options does not load blessed and blessed-contrib (≈ 23 MB of RSS), which only `dash` and `live --dash` use.
 */

/** ACK-rate bucket width (seconds) when the caller sets none: fine enough for short captures; the chart merges. */
export const DASHBOARD_BUCKET_SECONDS = 1;
