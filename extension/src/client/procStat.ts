// /proc/PID/stat read once, for every part that needs a process's state, parent, flags or start.
import * as fs from 'node:fs';

/**
 * The fields of /proc/@pid/stat (or of thread @tid's) after the command name, which may hold
 * spaces and parentheses: so index 0 is the state (field 3 of proc(5)), and field N is at N - 3
 * (ppid 1, flags 6, starttime 19). Throws the fs error when there is no such task.
 */
export function procStatFields(pid: number, tid?: number): string[] {
  const stat = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
