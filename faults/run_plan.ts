// How long and how hard a scenario runs: the full form (a few minutes each) and the short one
// CI runs (under a minute each, setup and teardown included).
export interface RunPlan {
  /** Seconds of steady load; the fault is injected `faultAtSeconds` into it. */
  loadSeconds: number;
  faultAtSeconds: number;
  perSecond: number;
  /** timeout_seconds of every command: short, so silent docks' commands end within the run. */
  timeoutSeconds: number;
  /** Waited past the last accepted command's deadline before anything is judged. */
  marginSeconds: number;
  docks: number;
  leaseTtlSeconds: number;
}

export const QUICK_PLAN: RunPlan = {
  loadSeconds: 20,
  faultAtSeconds: 6,
  perSecond: 50,
  timeoutSeconds: 10,
  marginSeconds: 5,
  docks: 30,
  leaseTtlSeconds: 5,
};

export const FULL_PLAN: RunPlan = {
  loadSeconds: 150,
  faultAtSeconds: 45,
  perSecond: 80,
  timeoutSeconds: 15,
  marginSeconds: 10,
  docks: 50,
  leaseTtlSeconds: 5,
};
