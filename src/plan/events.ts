/** What the runner reports as it goes; reporters render these (lines, live status, JSON). */

export interface HostSummary {
  readonly host: string;
  readonly changed: number;
  readonly unchanged: number;
  readonly failed: boolean;
  readonly seconds: number;
  readonly error?: string;
}

export type RunEvent =
  | { readonly type: 'stage'; readonly title: string; readonly hosts: number }
  | { readonly type: 'phase'; readonly host: string; readonly phase: string }
  | {
      readonly type: 'change';
      readonly host: string;
      readonly phase: string;
      readonly summary: string;
      readonly diff?: string;
    }
  | { readonly type: 'info'; readonly host: string; readonly message: string }
  | { readonly type: 'warn'; readonly host: string; readonly message: string }
  /** Something that stops the run (preflight's findings), before the run says it stopped. */
  | { readonly type: 'problem'; readonly host: string; readonly message: string }
  | { readonly type: 'host-done'; readonly summary: HostSummary }
  | {
      readonly type: 'done';
      readonly hosts: readonly HostSummary[];
      readonly seconds: number;
      readonly dryRun: boolean;
    };

export interface Reporter {
  event(e: RunEvent): void;
  /** Stop any live display. */
  close(): void;
}
