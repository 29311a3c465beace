// tldctl helper install and uninstall: the root-owned helper host an ordinary user starts with sudo or pkexec.
// The installer is imported when helper runs (command.ts says why).
import { HOST_COMMAND, HOST_CONFIG_PATH, INSTALL_DIR } from '../../client/hostConfig';
import { UsageError } from '../args';
import { Command, out } from '../command';

const HELP = `Usage: sudo tldctl helper install --user USER [--pin-dir DIR] [--program-pin-root DIR]
       sudo tldctl helper uninstall

install copies the helper host (its JavaScript, the helper library, koffi and this Node) into
${INSTALL_DIR}, owned by root, and lets USER start it, with no arguments and no password:
sudo -n ${HOST_COMMAND} (a sudoers rule checked with visudo) or pkexec (a polkit action).
USER joins the group tld, whose programs holding CAP_BPF + CAP_PERFMON may publish hints on the
shared pin (DIR/tld_data_map, default /sys/fs/bpf/tld). The host serves only that pin and pins
programs only under the program pin root (default /sys/fs/bpf/tld-studio); both are written to
${HOST_CONFIG_PATH}. Running install again updates it.

uninstall removes everything install made and puts back what it changed.`;

export const helperCommand: Command = {
  name: 'helper',
  summary: ['helper install --user USER   (as root) the helper host for an ordinary user', 'helper uninstall             (as root) remove what install made'],
  help: HELP,
  options: { user: { type: 'string' }, 'pin-dir': { type: 'string' }, 'program-pin-root': { type: 'string' } },
  async run(p, rest) {
    const [verb, ...extra] = rest;
    const { installHelper, uninstallHelper } = await import('../../client/helperInstall');
    if (extra.length > 0) throw new UsageError(`helper ${verb ?? ''} takes no argument '${extra[0]}'`);
    switch (verb) {
      case 'install': {
        const user = p.options.get('user');
        if (!user) throw new UsageError('helper install needs --user USER (the user who runs VS Code or tldctl)');
        const pinDir = p.options.get('pin-dir');
        const programPinRoot = p.options.get('program-pin-root');
        installHelper({ user, ...(pinDir ? { pinDir } : {}), ...(programPinRoot ? { programPinRoot } : {}) }, out);
        return 0;
      }
      case 'uninstall':
        for (const o of ['user', 'pin-dir', 'program-pin-root']) if (p.options.has(o)) throw new UsageError(`helper uninstall takes no --${o}`);
        uninstallHelper(out);
        return 0;
      case undefined:
        throw new UsageError('helper needs install or uninstall');
      default:
        throw new UsageError(`helper has no '${verb}': install or uninstall`);
    }
  },
};
