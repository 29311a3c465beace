// A tree view's periodic refresh that runs only while the view is visible: a hidden view
// (collapsed, another container shown, the side bar closed) costs no helper calls.

export class VisiblePoller {
  private timer: ReturnType<typeof setInterval> | undefined;
  private visible = false;
  private wanted = true;

  /** @tick every @ms while visible (and wanted), and once as the view comes back into sight. */
  constructor(
    private readonly ms: number,
    private readonly tick: () => void,
  ) {}

  /** Whether the timer runs now. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    this.update(visible);
  }

  /** Whether the view wants ticks at all (the VM view: only while a guest runs). */
  setWanted(wanted: boolean): void {
    this.wanted = wanted;
    this.update(false);
  }

  private update(cameIntoSight: boolean): void {
    const run = this.visible && this.wanted;
    if (run && !this.timer) {
      if (cameIntoSight) this.tick(); // what changed while hidden shows at once
      this.timer = setInterval(this.tick, this.ms);
    } else if (!run && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
