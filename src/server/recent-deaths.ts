// The data members this node declared dead lately, kept (bounded, for DEAD_SHOWN_MS) only so that
// `stats` and `status` can show them `dead` until the cluster forgets them.
/** How long a declared death is reported after it was declared. */
export const DEAD_SHOWN_MS = 10 * 60_000;
/** Deaths remembered at most; the oldest is dropped first. */
const DEATHS_MAX = 64;

export interface RecentDeath {
  addr: string;
  declaredAtMs: number;
}

export class RecentDeaths {
  private readonly byAddr = new Map<string, number>();

  /** A data member at addr was declared dead at nowMs. */
  add(addr: string, nowMs: number): void {
    this.byAddr.delete(addr);
    if (this.byAddr.size >= DEATHS_MAX) this.byAddr.delete(this.byAddr.keys().next().value!);
    this.byAddr.set(addr, nowMs);
  }

  /** Deaths declared within DEAD_SHOWN_MS of nowMs whose address is not a member again. */
  list(nowMs: number, isMember: (addr: string) => boolean): RecentDeath[] {
    const out: RecentDeath[] = [];
    for (const [addr, declaredAtMs] of this.byAddr) {
      if (nowMs - declaredAtMs > DEAD_SHOWN_MS) this.byAddr.delete(addr);
      else if (!isMember(addr)) out.push({ addr, declaredAtMs });
    }
    return out;
  }
}
