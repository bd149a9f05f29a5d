/**
 * The terminal dashboard, a sink of the analyzer pipeline: `runDashboard(source, options)` for `keyscope dash`
 * (capture file, `-`, replay) and `keyscope live --dash` (an open LiveCapture).
 */
export { DASHBOARD_BUCKET_SECONDS, Dashboard, DashboardTerminalError, runDashboard, usableTerminal } from './dashboard';
export type { DashboardOptions, DashboardResult, DashboardSource, DashboardTerminal, LiveFrameSource } from './dashboard';
export { DashboardModel, type DashboardModelOptions, type TransactionOrder } from './model';
export { CaptureReplay, type ReplayOptions } from './replay';
export type { DashboardSnapshot, DashboardViewOptions } from './view';
