/**
 * One dependency the service needs in order to take work. `check` resolves
 * when it is usable and rejects with the reason otherwise; it must settle
 * within a second or two, since probes call it often.
 */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<void>;
}
