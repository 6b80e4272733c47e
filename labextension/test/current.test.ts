import { Signal } from '@lumino/signaling';
import { describe, expect, it } from 'vitest';

import { CurrentSharedSession } from '../src/current';
import type { ISharedSession, ISharedSessionTracker } from '../src/tokens';

/** The part of a tab the tracker of tabs hands out. */
class FakeTab {
  constructor(id: string) {
    this.session = { id } as ISharedSession;
  }
  readonly session: ISharedSession;
  readonly disposed = new Signal<this, void>(this);
}

/** The signals of a WidgetTracker, driven by the test. */
class FakeTracker {
  currentWidget: FakeTab | null = null;
  readonly currentChanged = new Signal<this, FakeTab | null>(this);
  readonly widgetAdded = new Signal<this, FakeTab>(this);

  add(tab: FakeTab): void {
    this.widgetAdded.emit(tab);
  }

  focus(tab: FakeTab | null): void {
    this.currentWidget = tab;
    this.currentChanged.emit(tab);
  }

  close(tab: FakeTab, next: FakeTab | null): void {
    // WidgetTracker forgets a disposed tab before others hear of it.
    this.currentWidget = next;
    tab.disposed.emit();
  }
}

function follow(tracker: FakeTracker): {
  current: CurrentSharedSession;
  seen: Array<string | null>;
} {
  const current = new CurrentSharedSession(
    tracker as unknown as ISharedSessionTracker
  );
  const seen: Array<string | null> = [];
  current.sessionChanged.connect((_, session) =>
    seen.push(session?.id ?? null)
  );
  return { current, seen };
}

describe('CurrentSharedSession', () => {
  it('follows the tab opened or focused last, and the next one when it closes', () => {
    const tracker = new FakeTracker();
    const { current, seen } = follow(tracker);
    expect(current.session).toBeNull();
    const one = new FakeTab('s1');
    const two = new FakeTab('s2');
    tracker.add(one);
    tracker.add(two); // a new tab is current before it has focus
    tracker.focus(one);
    tracker.focus(one); // no news: no signal
    tracker.close(one, two);
    tracker.close(two, null);
    expect(seen).toEqual(['s1', 's2', 's1', 's2', null]);
    expect(current.session).toBeNull();
  });

  it('keeps the current session when another tab closes', () => {
    const tracker = new FakeTracker();
    const { current, seen } = follow(tracker);
    const one = new FakeTab('s1');
    const two = new FakeTab('s2');
    tracker.add(one);
    tracker.add(two);
    tracker.close(one, two);
    expect(current.session?.id).toBe('s2');
    expect(seen).toEqual(['s1', 's2']);
  });
});
