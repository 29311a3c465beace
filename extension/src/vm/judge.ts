// The guest's judge of a developer's own loader (tldctl vm run --cmd): a busybox sh script
// that starts the command as root in the shared folder, watches the kernel's sched_ext state
// (/sys/kernel/sched_ext/state, root/ops) and its "sched_ext: BPF scheduler ... disabled
// (REASON)" record, starts the workload once a scheduler is enabled, stops everything at the
// end, and prints one verdict line; and the parser of the lines it prints. Both sides of those
// lines live here.
//
// Verdicts are the generic loader's exit codes (run.ts RunResult): 0 the scheduler stayed
// enabled (for --seconds after it was enabled, or until the command ended it and exited 0),
// 1 no scheduler was enabled (or the command failed after ending its own), 2 the kernel
// disabled it (an error-level record, or an unregistration by the kernel or sysrq).
import type { SchedulerOutcome } from './schedulerStats';

/** Where run.ts puts the judge's files in the guest. */
export const JUDGE_SCRIPT = '/etc/tld-judge.sh';
export const COMMAND_SCRIPT = '/etc/tld-command.sh';

/** How long the command has to enable a scheduler (a big one verifies slowly under TCG). */
export const ENABLE_WAIT_S = 60;

const PREFIX = 'tld-vm:';
const ENABLED = /^tld-vm: scheduler "([^"]*)" enabled \(sched_ext state: [^)]*\)$/;
const VERDICT = /^tld-vm: verdict (\d+): (.*)$/;
const DISABLED = /^the kernel disabled the scheduler (.*)$/;

export interface JudgeParams {
  /** How long the scheduler runs once enabled. */
  readonly seconds: number;
  /** The shared folder: the command's working directory. */
  readonly dir: string;
  /** The workload script, started once a scheduler is enabled. */
  readonly workloadScript: string;
}

/** The judge's command line for the guest's /init (its status is the verdict). */
export function judgeCommand(p: JudgeParams): string {
  return `sh ${JUDGE_SCRIPT} ${p.seconds} ${ENABLE_WAIT_S} ${shQuote(p.dir)} ${shQuote(p.workloadScript)}`;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The text of JUDGE_SCRIPT. */
export function judgeScript(): string {
  return `#!/bin/sh
# Runs the developer's command (${COMMAND_SCRIPT}) as root in the shared folder and judges its
# sched_ext scheduler. Usage: sh JUDGE SECONDS ENABLE_WAIT DIR WORKLOAD_SCRIPT
seconds=$1
enable_wait=$2
dir=$3
workload=$4
scx=/sys/kernel/sched_ext
verdict=/tmp/tld-judge.verdict
enabled_file=/tmp/tld-judge.enabled
workload_pid=/tmp/tld-judge.workload

# Centiseconds since boot, into $now.
tick() {
	read -r up rest < /proc/uptime
	now=\${up%.*}\${up#*.}
	now=\${now#0}
	now=\${now#0}
}

state_now() {
	state=unknown
	[ -r $scx/state ] && read -r state < $scx/state
}

# The kernel's count of schedulers enabled so far, into $seq: it moves even when one is
# enabled and thrown out between two polls.
seq_now() {
	seq=0
	[ -r $scx/enable_seq ] && read -r seq < $scx/enable_seq
}

# A scheduler was enabled since the command started.
was_enabled() {
	seq_now
	[ "$state" = enabled ] || [ "$seq" != "$seq0" ]
}

# The first to decide how the run ended wins: "CODE TEXT".
decide() {
	[ -e $verdict ] || echo "$1 $2" > $verdict
}

# The kernel's last record of a scheduler's end, into $level $name $reason $msg; false when
# none came within 2 s (it is printed after the state changes). The raw log keeps each
# record's level ("<3>[   8.33] sched_ext: ..."): the quiet console shows only errors, and the
# level tells an error from an unregistration.
disabled_record() {
	i=0
	while [ $i -lt 20 ]; do
		line=$(dmesg -r | grep ' sched_ext: BPF scheduler ".*" disabled (' | tail -n 1)
		if [ -n "$line" ]; then
			level=\${line#<}
			level=\${level%%>*}
			reason=\${line#*disabled (}
			reason=\${reason%)}
			name=\${line#*BPF scheduler \\"}
			name=\${name%%\\" disabled*}
			msg=$(dmesg | grep -F " sched_ext: $name: " | tail -n 1)
			msg=\${msg#* sched_ext: $name: }
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	level=
	name=
	reason=
	msg=
	return 1
}

# Whether the kernel ended it (an error, or an unregistration neither the scheduler nor its
# loader asked for).
kernel_took() {
	case "$reason" in
	'unregistered from user space' | 'unregistered from BPF') [ "$level" -le 3 ] ;;
	*) return 0 ;;
	esac
}

kernel_verdict() {
	decide 2 "the kernel disabled the scheduler \\"$name\\" ($reason)\${msg:+: $msg}"
}

# Stops a process group: SIGNAL, then SIGKILL after 3 s.
drain() {
	kill -$2 -$1 2>/dev/null || return 0
	i=0
	while kill -0 -$1 2>/dev/null; do
		if [ $i -ge 30 ]; then
			kill -KILL -$1 2>/dev/null
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# Polls the state every 100 ms while the command runs: starts the workload once a scheduler is
# enabled, and ends the run (SIGINT to the command, as Ctrl-C) when it is time or the kernel
# disabled it.
watch() {
	tick
	start=$now
	since=
	while :; do
		state_now
		tick
		if [ -z "$since" ]; then
			if was_enabled; then
				since=$now
				ops=
				[ -r $scx/root/ops ] && read -r ops < $scx/root/ops
				if [ -z "$ops" ]; then
					# Gone already: its name is in the kernel's record.
					ops=$(dmesg | grep ' sched_ext: BPF scheduler ".*" enabled' | tail -n 1)
					ops=\${ops#*BPF scheduler \\"}
					ops=\${ops%%\\" enabled*}
				fi
				echo "$ops" > $enabled_file
				echo "tld-vm: scheduler \\"$ops\\" enabled (sched_ext state: $state)"
				setsid sh "$workload" < /dev/null &
				echo $! > $workload_pid
			elif [ $((now - start)) -ge $((enable_wait * 100)) ]; then
				decide 1 "no sched_ext scheduler was enabled within $enable_wait s of the command's start"
				kill -INT -$cmd 2>/dev/null
				return
			fi
		elif [ "$state" != enabled ] && [ "$state" != enabling ] && disabled_record && kernel_took; then
			kernel_verdict
			kill -INT -$cmd 2>/dev/null
			return
		elif [ $((now - since)) -ge $((seconds * 100)) ]; then
			state_now
			if [ "$state" = enabled ]; then
				read -r ops < $enabled_file
				decide 0 "the scheduler \\"$ops\\" stayed enabled for $seconds s"
			else
				disabled_record
				decide 1 "the scheduler \\"$name\\" ended itself (\${reason:-no reason recorded}) and was not enabled at the end of the run"
			fi
			kill -INT -$cmd 2>/dev/null
			return
		fi
		sleep 0.1
	done
}

cd "$dir" || { echo "tld-vm: verdict 1: the guest cannot enter $dir"; exit 1; }
seq_now
seq0=$seq
setsid sh ${COMMAND_SCRIPT} < /dev/null &
cmd=$!
watch &
watcher=$!
wait $cmd
status=$?
kill $watcher 2>/dev/null
wait $watcher 2>/dev/null

if [ ! -e $verdict ]; then
	# The command ended by itself.
	state_now
	if [ ! -e $enabled_file ] && ! was_enabled; then
		decide 1 "the command exited with status $status before a sched_ext scheduler was enabled"
	else
		# Its scheduler goes with it (its link is closed), unless it left it enabled.
		state_now
		i=0
		while [ "$state" = enabled ] && [ $i -lt 20 ]; do
			sleep 0.1
			state_now
			i=$((i + 1))
		done
		if [ "$state" = enabled ]; then
			decide 0 "the command exited with status $status and left its scheduler enabled"
		elif disabled_record && kernel_took; then
			kernel_verdict
		elif [ "$status" = 0 ]; then
			decide 0 "the command ended its scheduler \\"$name\\" itself (\${reason:-no reason recorded}) and exited with status 0"
		else
			decide 1 "the command exited with status $status after its scheduler \\"$name\\" ended (\${reason:-no reason recorded})"
		fi
	fi
fi

# Stop what is left: the workload, then the rest of the command's process group.
[ -e $workload_pid ] && drain $(cat $workload_pid) TERM
drain $cmd INT
read -r code text < $verdict
echo "tld-vm: verdict $code: $text"
exit $code
`;
}

export interface JudgeOutcome {
  /** The verdict, or undefined when the guest printed none (it died first). */
  readonly exitCode?: number;
  /** The verdict's sentence. */
  readonly message?: string;
  readonly outcome: SchedulerOutcome;
}

/** What the judge's lines on the console say. */
export function parseJudge(lines: readonly string[]): JudgeOutcome {
  let enabled: string | undefined;
  let exitCode: number | undefined;
  let message: string | undefined;
  for (const raw of lines) {
    const at = raw.indexOf(PREFIX);
    if (at < 0) continue;
    const l = raw.slice(at);
    const e = ENABLED.exec(l);
    if (e) enabled = e[1];
    const v = VERDICT.exec(l);
    if (v) {
      exitCode = Number(v[1]);
      message = v[2];
    }
  }
  const disabled = exitCode === 2 && message ? DISABLED.exec(message)?.[1] : undefined;
  return {
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(message !== undefined ? { message } : {}),
    outcome: { ...(enabled ? { enabled } : {}), ...(disabled ? { disabled } : {}) },
  };
}
