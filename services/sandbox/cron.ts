import { CronExpressionParser } from 'cron-parser';

/**
 * CronJob schedules as kube reads them (robfig/cron's standard parser): five fields, the
 * descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`
 * and `@every <duration>`, optionally in an IANA time zone (`spec.timeZone`). Field parsing and
 * time-zone arithmetic are cron-parser's.
 */
export interface Schedule {
  /** The first scheduled time strictly after `t` (ms). */
  next(t: number): number | undefined;
  /** The most recent scheduled time in (earliest, now], if any (kube's mostRecentScheduleTime). */
  mostRecent(earliest: number, now: number): number | undefined;
}

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`1h30m`, `90s`, `2.5m`) in ms. */
function goDuration(text: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let ms = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    ms += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0) throw new Error(`time: invalid duration "${text}"`);
  return ms;
}

/** Whether `tz` is a time zone this runtime knows (IANA names, `UTC`, `Local`). */
export function knownTimeZone(tz: string): boolean {
  if (tz === '' || tz === 'Local' || tz === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function parseSchedule(expression: string, timeZone?: string): Schedule {
  let text = expression.trim();
  let tz = timeZone && timeZone !== 'Local' ? timeZone : 'UTC';
  const prefixed = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
  if (prefixed) {
    tz = prefixed[1]!;
    text = prefixed[2]!.trim();
    if (!knownTimeZone(tz)) throw new Error(`provided bad location ${tz}: unknown time zone ${tz}`);
  }
  if (text.startsWith('@every ')) {
    const every = goDuration(text.slice('@every '.length).trim());
    const step = Math.max(1000, Math.floor(every / 1000) * 1000);
    return {
      next: (t) => Math.floor(t / 1000) * 1000 + step,
      mostRecent: (earliest, now) => {
        if (now < earliest + step) return undefined;
        return earliest + Math.floor((now - earliest) / step) * step;
      },
    };
  }
  if (text.startsWith('@')) {
    const d = DESCRIPTORS[text];
    if (!d) throw new Error(`unrecognized descriptor: ${text}`);
    text = d;
  }
  const fields = text.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const parse = (currentDate: number) =>
    CronExpressionParser.parse(fields.join(' '), { currentDate, tz, strict: false });
  parse(Date.now()); // syntax errors surface here
  return {
    next: (t) => {
      try {
        return parse(t).next().getTime();
      } catch {
        return undefined;
      }
    },
    mostRecent: (earliest, now) => {
      try {
        // cron-parser's prev() is strictly before its current date: start just after `now`.
        const t = parse(now + 1)
          .prev()
          .getTime();
        return t > earliest && t <= now ? t : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
