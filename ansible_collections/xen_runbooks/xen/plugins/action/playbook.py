# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""The one action plugin of every module of xen_runbooks.xen (meta/runtime.yml routes them here).

It runs the module's playbook on the controller: ``PLAYBOOK [options] -- ARGS --json --yes``, with
``--dry-run`` in check mode and ``--host`` built from the inventory, and turns its JSON report and
exit code into the task's result. The logic stays in the playbook; this only translates.
Followed in ansible-core 2.14 (lib/ansible/plugins/action/__init__.py): ActionBase.run() for the
common checks, validate_argument_spec() for the options, _compute_environment_string() for the
task's ``environment:``; a local process as lookup/pipe.py runs one (subprocess, the playbook's
directory as cwd); ``prepared`` diffs as callback/__init__.py _get_diff() prints them.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()
MODULES = 'ansible_collections.xen_runbooks.xen.plugins.modules.'

# ssh(1)'s short options that have an ssh_config(5) keyword: what ansible_ssh_common_args and
# ansible_ssh_extra_args may hold, written into the playbook's ssh config (ssh reads an -o argument
# with the config file's own parser: "-o Key=Value" is a config line as it is).
SSH_FLAGS_WITH_VALUE = {'-J': 'ProxyJump', '-i': 'IdentityFile', '-p': 'Port', '-l': 'User', '-c': 'Ciphers',
                        '-m': 'MACs', '-b': 'BindAddress', '-B': 'BindInterface'}
SSH_FLAGS = {'-A': 'ForwardAgent yes', '-a': 'ForwardAgent no', '-C': 'Compression yes',
             '-4': 'AddressFamily inet', '-6': 'AddressFamily inet6', '-q': 'LogLevel QUIET'}


def ssh_config_lines(args, source):
    """The ssh_config lines an ssh command line's options stand for; an option without one is refused."""
    words, lines = shlex.split(args or ''), []
    while words:
        word = words.pop(0)
        flag, value = word[:2], word[2:]
        if flag == '-o' or flag in SSH_FLAGS_WITH_VALUE:
            if not value:
                if not words:
                    raise AnsibleActionFail('%s: %s needs a value' % (source, flag))
                value = words.pop(0)
            if '\n' in value or '\r' in value:
                raise AnsibleActionFail('%s: a line break in %s %r' % (source, flag, value))
            # What ssh itself takes from -o: no Include, and no Host or Match block to open (readconf.c).
            if flag == '-o' and (value.replace('=', ' ').split() or [''])[0].lower() in ('include', 'host', 'match'):
                raise AnsibleActionFail('%s: -o %s is not an option ssh takes on its command line' % (source, value))
            lines.append(value if flag == '-o' else '%s %s' % (SSH_FLAGS_WITH_VALUE[flag], value))
        elif word in SSH_FLAGS:
            lines.append(SSH_FLAGS[word])
        else:
            raise AnsibleActionFail(
                "%s: %s has no ssh_config keyword the playbook's ssh could take (it reads only a config file): "
                "put the setting in an ssh config file and name it with xen_runbooks_ssh_config" % (source, word))
    return lines


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        mod = importlib.import_module(MODULES + (self._task.resolved_action or self._task.action).split('.')[-1])
        dummy, params = self.validate_argument_spec(argument_spec=mod.ARGUMENT_SPEC)
        var = lambda name: self._templar.template(task_vars.get(name))  # noqa: E731
        task_env = {}  # _compute_environment_string() clears the dict it fills: the controller's env is added after
        self._compute_environment_string(task_env)
        env = dict(os.environ, **task_env)
        cmd = [self._executable(mod.PLAYBOOK, var('xen_runbooks_path'), env.get('PATH'))]
        for name, flag in mod.OPTIONS.items():
            value = params.get(name)
            if value is True:
                cmd.append(flag)
            elif isinstance(value, list):  # a repeatable option: given once per element
                cmd += ['%s=%s' % (flag, v) for v in value]
            elif value is not None and value is not False:
                cmd.append('%s=%s' % (flag, value))
        cmd += ['--json', '--yes'] + (['--dry-run'] if self._task.check_mode else [])
        config = None
        if not self._connection.transport.endswith('local'):
            config = self._ssh_target(cmd, var)
        positional = [str(params[a]) for a in mod.ARGS if params.get(a) is not None]
        cmd += ['--'] + positional
        display.vvv('xen_runbooks: %s' % ' '.join(cmd), host=self._play_context.remote_addr)
        try:
            proc = subprocess.run(cmd, env={k: str(v) for k, v in env.items()}, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self._loader.get_basedir())
        finally:
            if config:
                os.unlink(config)
        result.update(self._report(proc, cmd))
        return result

    def _executable(self, playbook, where, path):
        """The playbook: xen_runbooks_path (the executable, a bin directory, the package or a checkout), else PATH."""
        if where:
            where = os.path.expanduser(str(where))
            # The package's (or a built checkout's) executable in one file first: it starts sooner.
            candidates = [where] if os.path.isfile(where) else [
                os.path.join(where, playbook), os.path.join(where, 'bin', playbook),
                os.path.join(where, 'lib', 'bin', playbook + '.mjs'),
                os.path.join(where, 'playbooks', playbook + '.mjs')]
            found = next((c for c in candidates if os.path.isfile(c) and os.access(c, os.X_OK)), None)
        else:
            found = shutil.which(playbook, path=path)
        if not found:
            raise AnsibleActionFail(
                "the playbook %s was not found %s on the controller: install the package there "
                "(npm install --global xen-runbooks-VERSION.tgz) or set xen_runbooks_path to the executable, "
                "the package's directory or a checkout" % (playbook, "in %s" % where if where else 'on PATH'))
        return found

    def _refuse_unsupported(self, user):
        """Connection settings the playbook's ssh cannot honour fail the task, rather than being dropped."""
        if self.get_connection_option('password'):
            raise AnsibleActionFail(
                "ansible_password is set, but the playbooks' ssh logs in with keys only (BatchMode): "
                "give the host a key (ansible_ssh_private_key_file)")
        become_user = self._play_context.become_user or 'root'
        if self._play_context.become and (become_user != 'root' or (user and user != 'root')):
            raise AnsibleActionFail(
                "become is set (%s to %s), but the playbooks do not use sudo: they run the host's tools as the ssh "
                "user, who must be root on a dom0. Connect as root (ansible_user: root), or set become: false "
                "for this task" % (user or 'the ssh user', become_user))

    def _ssh_target(self, cmd, var):
        """--host and --ssh-config: the named ssh config file, else one written from the connection variables."""
        host = self.get_connection_option('host') or self._play_context.remote_addr
        user = self.get_connection_option('remote_user') or self._play_context.remote_user
        self._refuse_unsupported(user)
        named = var('xen_runbooks_ssh_config')
        cmd += ['--host', '%s@%s' % (user, host) if user else host]
        args = [line for o in ('ssh_common_args', 'ssh_extra_args')
                for line in ssh_config_lines(self.get_connection_option(o), 'ansible_%s' % o)]
        if named:
            named = os.path.abspath(os.path.expanduser(str(named)))
            if not args:
                cmd += ['--ssh-config', named]
                return None
            return self._write_ssh_config(cmd, args + ['Include %s' % named])
        lines = []
        port = self.get_connection_option('port') or self._play_context.port
        key = self.get_connection_option('private_key_file') or self._play_context.private_key_file
        known = var('xen_runbooks_known_hosts')
        if port:
            lines.append('Port %s' % port)
        if key:
            lines += ['IdentityFile %s' % os.path.expanduser(str(key)), 'IdentitiesOnly yes']
        if known:
            lines.append('UserKnownHostsFile %s' % os.path.expanduser(str(known)))
        # After the port and key, as ansible's ssh connection orders them (ssh takes the first value).
        lines += args
        # The user's own configuration still applies to what is not set here (first value wins).
        lines.append('Include ~/.ssh/config')
        return self._write_ssh_config(cmd, lines)

    def _write_ssh_config(self, cmd, lines):
        """A temporary ssh config file of LINES, passed with --ssh-config; the caller removes it."""
        fd, config = tempfile.mkstemp(prefix='xen-runbooks-ssh-', suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        cmd += ['--ssh-config', config]
        return config

    def _report(self, proc, cmd):
        """The task result from the playbook's JSON report and exit code."""
        stderr = proc.stderr.decode('utf-8', 'replace')
        try:
            report = json.loads(proc.stdout.decode('utf-8', 'replace'))
        except ValueError:
            return dict(failed=True, rc=proc.returncode, cmd=cmd, stderr=stderr,
                        msg='%s gave no report (exit %s): %s' % (cmd[0], proc.returncode, stderr.strip()[-2000:]))
        rc = report.get('exitCode', proc.returncode)
        steps, applied = report.get('steps', []), report.get('applied', [])
        changing = [s for s in steps if s.get('status') in ('changed', 'would-change')]
        out = dict(changed=bool(changing) if rc == 0 else bool(applied), rc=rc, steps=steps, applied=applied,
                   data=report.get('data', {}), cmd=cmd)
        if report.get('warnings'):
            out['warnings'] = report['warnings']
        if self._task.diff and changing:
            out['diff'] = [dict(prepared='%s: %s\n%s' % (s['title'], s['message'], s.get('diff') or ''))
                           for s in changing]
        error, hint = report.get('error', ''), report.get('hint')
        if rc == 0:
            verb = 'would change' if report.get('dryRun') else 'changed'
            out['msg'] = '%d step(s) %s: %s' % (len(changing), verb, '; '.join(s['title'] for s in changing)) \
                if changing else 'nothing to do: everything was already in place'
        elif rc == 1:
            left = '; '.join('%s: %s' % (a['title'], a['message']) for a in applied)
            out.update(failed=True, stderr=stderr, msg='failed: %s. %s' % (
                error, 'Left applied by this run: %s' % left if left else 'Nothing was left changed.'))
        elif rc == 2:
            out.update(failed=True, stderr=stderr, msg='bad input: %s' % error)
        else:
            out.update(failed=True, stderr=stderr, msg='refused: %s%s' % (error, ' (%s)' % hint if hint else ''))
        return out
