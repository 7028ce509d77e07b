#!/usr/bin/env python3
"""Writes test/fixtures/oracle/libxlu/corpus/: the configs, disk specs and vif rates that
build.mjs runs every release's libxlutil on. Xen's own example configs are copied verbatim
from a clone of xen-project/xen (GIT_DIR, default /work/.mirror/xen-project+xen/repo).

    python3 scripts/oracle/libxlu/corpus.py && node scripts/oracle/libxlu/build.mjs
"""
import json, os, subprocess
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
C = os.path.join(ROOT, 'test/fixtures/oracle/libxlu/corpus')
CFG = C + '/cfg'
os.makedirs(CFG, exist_ok=True)
for f in os.listdir(CFG): os.remove(os.path.join(CFG, f))
notes = {}
def w(name, data, note):
    if isinstance(data, str): data = data.encode('utf-8')
    open(os.path.join(CFG, name + '.cfg'), 'wb').write(data)
    notes[name + '.cfg'] = note
G = ['git', '--git-dir=' + os.environ.get('GIT_DIR', '/work/.mirror/xen-project+xen/repo')]
def show(tag, path): return subprocess.run(G + ['show', f'{tag}:{path}'], capture_output=True, check=True).stdout

# --- the project's own configs (fixtures the playbooks read or write)
P = os.path.join(ROOT, 'test/fixtures')
for src, name in [('qos/vm01.cfg','project-qos-vm01'),('qos/vm01.persist.cfg','project-qos-vm01-persist'),('qos/vm02.cfg','project-qos-vm02'),('qos/vm02.persist.cfg','project-qos-vm02-persist'),('windows/golden/xl/win7.cfg','project-windows-hvm-xl-win7'),('windows/golden/xm/win7.cfg','project-windows-hvm-xm-win7')]:
    w(name, open(os.path.join(P, src),'rb').read(), f'test/fixtures/{src} of this project')

# --- Xen's own example configs
for tag, path, name in [
    ('RELEASE-4.22.0','tools/examples/xlexample.hvm','xen-4.22-xlexample-hvm'),
    ('RELEASE-4.22.0','tools/examples/xlexample.pvlinux','xen-4.22-xlexample-pvlinux'),
    ('RELEASE-4.22.0','tools/examples/xlexample.pvhlinux','xen-4.22-xlexample-pvhlinux'),
    ('RELEASE-4.22.0','tools/examples/xl.conf','xen-4.22-xl-conf'),
    ('RELEASE-4.22.0','tools/examples/cpupool','xen-4.22-cpupool'),
    ('RELEASE-4.2.0','tools/examples/xlexample.hvm','xen-4.2-xlexample-hvm'),
    ('RELEASE-4.2.0','tools/examples/xlexample.pvlinux','xen-4.2-xlexample-pvlinux'),
    ('RELEASE-4.1.0','tools/examples/xmexample1','xen-4.1-xmexample1'),
    ('RELEASE-4.1.0','tools/examples/xmexample2','xen-4.1-xmexample2'),
    ('RELEASE-4.1.0','tools/examples/xmexample3','xen-4.1-xmexample3'),
    ('RELEASE-4.1.0','tools/examples/xmexample.hvm','xen-4.1-xmexample-hvm'),
    ('RELEASE-4.1.0','tools/examples/xmexample.hvm-stubdom','xen-4.1-xmexample-hvm-stubdom'),
    ('RELEASE-4.1.0','tools/examples/xmexample.nbd','xen-4.1-xmexample-nbd'),
    ('RELEASE-4.1.0','tools/examples/xmexample.pv-grub','xen-4.1-xmexample-pv-grub'),
    ('RELEASE-4.1.0','tools/examples/xmexample.vti','xen-4.1-xmexample-vti'),
]:
    try: data = show(tag, path)
    except subprocess.CalledProcessError: continue
    w(name, data, f'xen-project/xen {tag}:{path}, verbatim')

# --- the xl.cfg(5) man page's examples (docs/man/xl.cfg.5.pod.in, RELEASE-4.22.0, lines 56-59 and 1590-1601)
pod = show('RELEASE-4.22.0', 'docs/man/xl.cfg.5.pod.in').decode().split('\n')
w('xen-4.22-xl-cfg-man-name-type', '\n'.join(l[2:] for l in pod[55:57]) + '\n', 'docs/man/xl.cfg.5.pod.in RELEASE-4.22.0 lines 56-57 (name and type on two lines)')
w('xen-4.22-xl-cfg-man-semicolon', pod[58][2:] + '\n', 'docs/man/xl.cfg.5.pod.in RELEASE-4.22.0 line 59 (two statements and a ;)')
w('xen-4.22-xl-cfg-man-vsnd', '\n'.join(l[4:] for l in pod[1589:1601]) + '\n', 'docs/man/xl.cfg.5.pod.in RELEASE-4.22.0 lines 1590-1601 (the vsnd example: nested lists across lines)')
# --- shapes the playbooks read and write
w('shape-pv-pygrub', 'name = "vm01"\ntype = "pv"\nbootloader = "pygrub"\nmemory = 1024\nmaxmem = 2048\nvcpus = 2\nmaxvcpus = 4\nvif = [ "mac=00:16:3e:00:00:01,bridge=xenbr0,rate=10Mb/s@20ms" ]\ndisk = [ "phy:/dev/vg0/vm01,xvda,w" ]\n', 'a PV guest as xen-qos reads it')
w('shape-pv-kernel-xend', 'kernel = "/boot/vmlinuz-2.6.32-5-xen-amd64"\nramdisk = "/boot/initrd.img-2.6.32-5-xen-amd64"\nroot = "/dev/xvda1 ro"\nextra = "console=hvc0 xencons=tty"\nmemory = 512\nname = "lenny"\nvif = [ "ip=10.0.0.2,mac=00:16:3e:00:00:02" ]\ndisk = [ "file:/srv/xen/lenny.img,xvda1,w", "file:/srv/xen/lenny-swap.img,xvda2,w" ]\non_poweroff = "destroy"\non_reboot = "restart"\non_crash = "restart"\n', 'a xen-tools/xend era PV config (the incident\'s shape)')
w('shape-hvm-xend', 'kernel = "/usr/lib/xen/boot/hvmloader"\nbuilder = "hvm"\nmemory = 2048\nname = "winxp"\nvcpus = 1\nvif = [ "type=ioemu, bridge=xenbr0" ]\ndisk = [ "phy:/dev/vg0/winxp,hda,w", "file:/srv/iso/xp.iso,hdc:cdrom,r" ]\ndevice_model = "/usr/lib/xen/bin/qemu-dm"\nboot = "dc"\nsdl = 0\nvnc = 1\nvncviewer = 0\nstdvga = 0\nserial = "pty"\nusbdevice = "tablet"\n', 'an xm HVM config as windows-hvm modernises it')
w('shape-script-disks', 'name = "drbd-guest"\nmemory = 1024\nvcpus = 1\ndisk = [ "drbd:res0,xvda,w", "iscsi:iqn.2001-05.com.example:storage.disk1,xvdb,w", "nbd:192.168.0.5 20004,xvdc,w", "enbd:storage1:7000,xvdd,r", "phy:/dev/vg0/x,xvde,w" ]\nvif = [ "bridge=xenbr0" ]\n', 'disks with a block script prefix (drbd:, iscsi:, nbd:, enbd:), as xen-qos must read them')
w('shape-qos-persisted', '# written by xen-qos\nname = "vm01"\nmemory = 2048\nmaxmem = 4096\nvcpus = 2\nmaxvcpus = 4\ncpu_weight = 512\ncap = 50\nvif = [ "mac=00:16:3e:2b:11:83,bridge=xenbr0,rate=8Mb/s@50ms" ]\nvif_other_config = [ [ "00:16:3e:2b:11:83", "tbf", "rate=8mbit,latency=50ms" ] ]\ndisk_other_config = [ [ "xvda", "ionice", "sched=best-effort,prio=5" ] ]\n', 'the keys xen-qos writes, nested lists included')
w('shape-xm-python', 'import os\nname = "vm%d" % 1\nmemory = 256\n', 'Python that xm executed and xl refuses')
w('shape-xm-vmid', 'vmid = 1\nname = "vm%d" % vmid\nmemory = 64 * 4\n', 'xmexample2-style arithmetic')

# --- hostile
w('empty', b'', 'zero bytes')
w('only-comments', b'# nothing\n#\n   # indented\n', 'comments only')
w('only-newlines', b'\n\n\n', 'newlines only')
w('no-final-newline', b'name = "a"\nmemory = 512', 'last statement without a newline')
w('comment-no-final-newline', b'name = "a"\n# last', 'a comment at EOF without newline')
w('comments-everywhere', b'# head\nname = "a" # after a value\nmemory = 512# tight\ndisk = [ # after [\n  "phy:/x,xvda,w", # after an item\n  # a line inside the list\n  "phy:/y,xvdb,w" # before ]\n] # after ]\nvcpus = # after =\n 2\nkey # between key and =\n = 1\n', 'comments after values, inside lists, after = and between key and =')
w('comment-in-string', b'name = "a # not a comment"\nextra = \'x # y\'\n', '# inside quotes')
w('whitespace-tabs', b'\tname\t=\t"a"\t\nmemory   =    512   \n  vcpus=2\n', 'tabs and runs of spaces, leading whitespace')
w('whitespace-vt-ff', b'name = "a"\x0b\nmemory = 512\x0c\n', 'vertical tab and form feed after values')
w('whitespace-nbsp', 'name\u00a0= "a"\n'.encode(), 'UTF-8 no-break space between key and =')
w('whitespace-cr-only', b'name = "a"\rmemory = 512\r', 'old Mac line endings (CR only)')
w('crlf', b'name = "a"\r\nmemory = 512\r\nvcpus = 2\r\n', 'DOS line endings')
w('crlf-in-list', b'disk = [ "phy:/x,xvda,w",\r\n  "phy:/y,xvdb,w" ]\n', 'CR LF inside a list')
w('crlf-last-line', b'name = "a"\nmemory = 512\r\n', 'CR LF on the last line only')
w('cr-inside-string', b'name = "a\rb"\n', 'a raw CR inside a string')
w('latin1-string', b'name = "caf\xe9"\nextra = "\xa0\xff"\n', 'Latin-1 bytes in strings')
w('latin1-comment', b'# caf\xe9\nname = "a" # \xe9t\xe9\n', 'Latin-1 bytes in comments')
w('latin1-key', b'n\xe9me = "a"\n', 'a Latin-1 byte in a key')
w('utf8-string', 'name = "café ü €"\n'.encode(), 'UTF-8 in a string')
w('utf8-bom', b'\xef\xbb\xbfname = "a"\n', 'a UTF-8 byte order mark')
w('nul-in-file', b'name = "a"\n\x00\nmemory = 1\n', 'a NUL byte')
w('nul-in-string', b'name = "a\x00b"\n', 'a NUL byte inside a string')
w('long-line', ('extra = "' + 'x' * 20000 + '"\nmemory = 512\n').encode(), 'a 20 000-character string (longer than the 16 KiB flex buffer)')
w('long-key', ('k' * 5000 + ' = 1\n').encode(), 'a 5 000-character key')
w('long-list', ('disk = [ ' + ', '.join(f'"phy:/dev/vg/d{i},xvd{i},w"' for i in range(50)) + ' ]\n').encode(), 'a 50-element list on one line')
w('many-lines', ''.join(f'key{i} = {i}\n' for i in range(200)).encode(), '200 statements')
w('unterminated-dq', b'name = "vm01\nmemory = 512\n', 'a double-quoted string not closed on its line')
w('unterminated-sq', b"name = 'vm01\nmemory = 512\n", 'a single-quoted string not closed')
w('unterminated-at-eof', b'name = "vm01', 'a string still open at EOF')
w('unterminated-list', b'disk = [ "phy:/x,xvda,w",\nmemory = 512\n', 'a list not closed')
w('unterminated-list-eof', b'disk = [ "phy:/x,xvda,w",\n', 'a list open at EOF')
w('escapes-ok', b'a = "q\\"q"\nb = \'s\\\'s\'\nc = "b\\\\s"\nd = "\\a\\b\\f\\n\\r\\t\\v"\ne = \'\\"\'\n', 'every single-character escape')
w('escape-hex', b'a = "\\x41"\nb = "\\x414"\nc = "\\x4142"\n', 'hex escapes')
w('escape-octal', b'a = "\\101"\nb = "\\7"\nc = "\\1011"\n', 'octal escapes')
w('escape-octal-mid', b'a = "x\\101y"\nb = "x\\1011y"\nc = "x\\19y"\n', 'three-digit and longer octal-looking escapes inside a string')
w('escape-unknown-mid', b'a = "x\\qy"\n', 'an unknown escape inside a string')
w('escape-octal-8', b'a = "\\8"\n', 'backslash 8')
w('escape-unknown', b'a = "\\q"\n', 'an unknown escape')
w('escape-trailing-backslash', b'a = "x\\"\n', 'a string ending in a backslash (unterminated)')
w('numbers', b'a = 0\nb = 10\nc = 0x10\nd = 010\ne = 08\nf = 0x\ng = 1a\nh = 99999999999999999999\ni = 0xffffffffffffffff\nj = 00\nk = 0xFF\n', 'number forms')
w('number-negative', b'a = -1\n', 'a negative number')
w('number-plus', b'a = +1\n', 'a plus sign')
w('number-float', b'a = 1.5\n', 'a decimal point')
w('number-exp', b'a = 1e3\n', '1e3')
w('number-suffix', b'memory = 512M\n', 'a unit suffix')
w('string-numbers', b'a = "10"\nb = "0x10"\nc = " 10"\nd = "10 "\ne = ""\nf = "-5"\ng = "+5"\nh = "1e3"\n', 'numbers written as strings, as xlu_cfg_get_long reads them')
w('keys', b'a.b = 1\na_b = 2\na9 = 3\nab.cd.ef = 4\n', 'dotted and underscored keys')
w('key-upper', b'Name = "a"\n', 'an upper-case key')
w('key-underscore-start', b'_name = "a"\n', 'a key starting with _')
w('key-dash', b'on-crash = "destroy"\n', 'a dash in a key')
w('key-digit-start', b'9name = 1\n', 'a key starting with a digit')
w('bare-word-value', b'type = hvm\n', 'an unquoted word as a value')
w('python-bool', b'acpi = True\n', 'Python True')
w('python-none', b'x = None\n', 'Python None')
w('python-call', b'memory = int("512")\n', 'a call')
w('python-concat', b'name = "a" + "b"\n', 'string concatenation')
w('python-if', b'if 1:\n    memory = 512\n', 'an if statement')
w('python-arith', b'vcpus = 2 * 2\n', 'arithmetic')
w('python-dict', b'x = { "a": 1 }\n', 'a dict')
w('python-tuple', b'x = ( 1, 2 )\n', 'a tuple')
w('semicolons', b'a = 1; b = 2;\n;\n;; c = 3\n', 'statements separated by ;')
w('semicolon-no-space', b'a=1;b=2\n', 'a=1;b=2')
w('two-on-a-line', b'a = 1 b = 2\n', 'two statements on a line without ;')
w('missing-value', b'a =\nb = 1\n', 'a key with no value')
w('missing-key', b'= 1\n', 'no key')
w('missing-equals', b'a 1\n', 'no =')
w('double-equals', b'a == 1\n', '==')
w('duplicates', b'memory = 512\nmemory = 1024\nname = "a"\nname = "b"\n', 'a key set twice: the last wins')
w('duplicate-type-change', b'disk = "x"\ndisk = [ "phy:/x,xvda,w" ]\n', 'a string then a list for the same key')
w('plus-equals-list', b'disk = [ "phy:/x,xvda,w" ]\ndisk += [ "phy:/y,xvdb,w" ]\n', 'list += list')
w('plus-equals-string', b'extra = "console=hvc0"\nextra += " quiet"\n', 'string += string')
w('plus-equals-first', b'extra += "quiet"\n', '+= with nothing before')
w('plus-equals-mixed', b'disk = [ "a" ]\ndisk += "b"\n', 'list += string')
w('plus-equals-mixed2', b'extra = "a"\nextra += [ "b" ]\n', 'string += list')
w('plus-equals-number', b'memory = 512\nmemory += 512\n', 'number += number')
w('plus-equals-then-assign', b'extra = "a"\nextra += "b"\nextra = "c"\nextra += "d"\n', '= after +=')
w('plus-equals-spaced', b'extra = "a"\nextra + = "b"\n', '+ = with a space')
w('lists', b'a = []\nb = [ ]\nc = [ "x", ]\nd = [ "x" , "y" ]\ne = [ 1, "two", 0x3 ]\n', 'empty lists, a trailing comma, mixed atoms')
w('list-empty-comma', b'a = [ , ]\n', '[ , ]')
w('list-double-comma', b'a = [ "x",, "y" ]\n', 'two commas')
w('list-multiline', b'disk = [\n\n  "phy:/x,xvda,w"\n  ,\n  "phy:/y,xvdb,w"\n\n]\n', 'newlines before and after items and commas')
w('list-newline-before-comma', b'a = [ "x"\n, "y" ]\n', 'a newline before the comma')
w('list-nested', b'a = [ [ "x", "y" ], [ "z" ], [] ]\nb = [ "s", [ "t" ] ]\nc = [ [ [ "deep" ] ] ]\n', 'nested lists')
w('list-no-comma', b'a = [ "x" "y" ]\n', 'two items without a comma')
w('value-after-list', b'a = [ "x" ] "y"\n', 'a value after the list')
w('error-then-good', b'name = "a"\nthis is wrong\nmemory = 512\nalso wrong\n', 'two bad lines among good ones (error recovery, the line reported)')
w('error-on-last-line', b'name = "a"\nmemory = 512\nvcpus = )\n', 'a bad last line')
w('error-in-list', b'disk = [ "phy:/x,xvda,w",\n  bad,\n  "phy:/y,xvdb,w" ]\n', 'a bare word inside a list')
w('unbalanced-close', b'a = ]\n', 'a ] with no [')
w('empty-string-values', b'a = ""\nb = \'\'\nc = [ "" ]\n', 'empty strings')
w('strings-mixed-quotes', b'a = "it\'s"\nb = \'say "hi"\'\n', 'the other quote inside a string')
w('string-adjacent', b'a = "x""y"\n', 'two strings side by side')
w('disk-forms', b'disk = [ "/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume,raw,hda,rw", "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume", "raw:/dev/vg/guest-volume,hda,w", "/root/image.iso,,hdc,cdrom", "/root/image.iso,,hdc,,cdrom", "/root/image.iso,raw,hdc,devtype=cdrom", "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso", "raw:/root/image.iso,hdc:cdrom,ro", ",hdc:cdrom,r", "tap:aio:/some/path,xvdb,w" ]\n', 'the examples of xl-disk-configuration(5), in a disk list')
w('disk-bad-in-list', b'disk = [ "phy:/x,xvda,w", "nfs:/x,xvdb,w", "phy:/y,xvdc,w" ]\n', 'an unknown prefix among good disks')
w('vif-forms', b'vif = [ "", "bridge=xenbr0", "mac=00:16:3e:00:00:01,bridge=xenbr0,rate=10Mb/s@20ms", "model=e1000, bridge=xenbr1, rate=1GB/s", "type=ioemu,bridge=xenbr0", "ip=10.0.0.2 10.0.0.3,script=vif-route" ]\n', 'vif specs as xl reads the list')
json.dump(notes, open(CFG + '/notes.json', 'w'), indent=1, sort_keys=True)
print(len(notes), 'configs')

# --- disk specs
D = []
def d(spec, note=''): D.append({'spec': spec, 'note': note})
for s in ['/dev/vg/guest-volume,,hda','/dev/vg/guest-volume,raw,hda,rw','format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume','raw:/dev/vg/guest-volume,hda,w','/root/image.iso,,hdc,cdrom','/root/image.iso,,hdc,,cdrom','/root/image.iso,raw,hdc,devtype=cdrom','format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso','raw:/root/image.iso,hdc:cdrom,ro','tap:aio:/some/path,xvda,w',',hdc:cdrom,r']:
    d(s, 'xl-disk-configuration(5) example')
# legacy prefixes
for p in ['phy:','file:','tap:aio:','tap:qcow2:','tap:qcow:','tap:vhd:','tap2:aio:','tap2:vhd:','tap:tapdisk:aio:','tapdisk:aio:','tapdisk:','tap:','tap2:','aio:','ioemu:','raw:','qcow:','qcow2:','vhd:','tap:raw:','file:raw:','phy:phy:']:
    d(p + '/srv/xen/disk.img,xvda,w', f'deprecated prefix {p}')
# script prefixes
for p in ['drbd:','iscsi:','nbd:','enbd:']:
    d(p + 'res0,xvda,w', f'block script prefix {p}')
    d(p + 'res0,xvda', f'{p} without access')
    d(p + 'res0,xvda:cdrom,r', f'{p} with a devtype')
    d(p + 'res0,raw,xvda,w', f'{p} then a format slot (there is none after a prefix)')
    d(p + ',xvda,w', f'{p} with an empty target')
    d(p + 'res0', f'{p} and nothing else')
d('iscsi:iqn.2001-05.com.example:storage.disk1,xvdb,w', 'an iSCSI IQN (colons in the target)')
d('nbd:192.168.0.5 20004,xvdc,w', 'xmexample.nbd form: host and port')
d('enbd:storage1:7000,xvdd,r', 'enbd host:port')
d('tap:drbd:res0,xvda,w', 'tap: then drbd:')
d('drbd:tap:aio:/x,xvda,w', 'drbd: then tap:aio:')
d('drbd:iscsi:x,xvda,w', 'two script prefixes')
d('script=block-drbd,drbd:res0,xvda,w', 'script= and a script prefix')
d('drbd:res0,xvda,w,script=block-x', 'a script prefix then script=')
d('vdev=xvda, drbd:res0', 'a script prefix after a key')
d('Drbd:res0,xvda,w', 'an upper-case prefix')
d('nfs:/x,xvda,w', 'an unknown prefix')
d('nfs:x,xvda,w', 'an unknown word and colon before a letter')
d('c:/x,xvda,w', 'a one-letter prefix')
d('9p:/x,xvda,w', 'a prefix starting with a digit')
d('/srv/a:b,xvda,w', 'a colon inside a positional target')
# keys
for kv in ['format=raw','format=qcow','format=qcow2','format=vhd','format=qed','format=empty','format=','format=RAW','format=iso','access=ro','access=r','access=rw','access=w','access=','access=rw!','access=w!','devtype=cdrom','devtype=disk','devtype=floppy','devtype=','cdrom','backendtype=phy','backendtype=tap','backendtype=qdisk','backendtype=standalone','backendtype=bogus','backendtype=','backend=dom1','backend=','script=block-iscsi','script=','specification=xen','specification=virtio','specification=bogus','transport=mmio','direct-io-safe','discard','no-discard','colo','no-colo','colo-host=h','colo-port=9000','colo-port=abc','colo-port=0','colo-export=e','active-disk=/a','hidden-disk=/h','trusted','untrusted','grant_usage=1','grant_usage=0','grant_usage=2','foo=bar','foo=','FOO=bar','vdev=']:
    d(f'{kv}, vdev=xvda, target=/x.img', f'key {kv}')
d('format=raw, vdev=xvda, access=rw, target=/x.img, with, commas', 'target= takes the rest of the string, commas included')
d('vdev=xvda, target=', 'an empty target=')
d('vdev=xvda, target=/p=q', 'an = inside target=')
d('target=/x.img, vdev=xvda', 'target= first: it eats the rest')
d('target=/x.img', 'only a target')
d('vdev=xvda', 'only a vdev')
d('vdev=xvda, cdrom', 'a cdrom without a target')
d('vdev=hdc, devtype=cdrom, target=', 'an empty cdrom')
d('vdev=xvda, vdev=xvdb, target=/x', 'vdev twice')
d('vdev=xvda, vdev=xvda, target=/x', 'vdev twice, same value')
d('vdev=, vdev=xvda, target=/x', 'an empty vdev then a vdev')
d('format=raw, format=raw, vdev=xvda, target=/x', 'format twice, same')
d('format=raw, format=qcow2, vdev=xvda, target=/x', 'format twice, different')
d('access=ro, access=rw, vdev=xvda, target=/x', 'access twice')
d('discard, discard, vdev=xvda, target=/x', 'a flag twice')
d('discard, no-discard, vdev=xvda, target=/x', 'discard then no-discard')
d('script=a, script=b, vdev=xvda, target=/x', 'script twice')
d('cdrom, devtype=disk, vdev=xvda, target=/x', 'cdrom then devtype=disk')
# positional
for s, n in [('/x.img,raw,xvda,rw','all four positional'),('/x.img,qcow2,xvda','no access'),('/x.img,,xvda','empty format'),('/x.img,,xvda,','empty access'),('/x.img,,xvda,,','two empty trailing'),('/x.img,raw,xvda,w,extra','too many positional'),('/x.img,QCOW2,xvda','an upper-case format'),('/x.img,empty,hdc','format empty'),('/x.img,qed,xvda','qed'),('/x.img,xvda','target and vdev (vdev in the format slot)'),('xvda','one word'),('',"the empty spec"),(',','a comma'),(',,',"two commas"),(',,xvda','empty target and format'),(',,hdc:cdrom','empty cdrom by vdev:type'),(',raw,hdc,cdrom','empty target, a format, cdrom'),('/x,,xvda:cdrom','vdev:cdrom'),('/x,,xvda:disk','vdev:disk'),('/x,,xvda:floppy','vdev:unknown'),('/x,,a:b:cdrom','two colons in vdev'),('/x,,xvda,rw,cdrom','cdrom flag after access'),('/path/a=b,,xvda','an = in a positional target'),('/x.img,raw,xvda,rw,','a trailing comma'),('phy:/dev/x,xvda,w!','xend shared-write access w!'),('phy:/dev/x,xvda,rw','rw after a prefix'),('phy:/dev/x,xvda','no access after a prefix'),('phy:/dev/x,xvda1,w','a partition vdev'),('phy:/dev/x,hda:cdrom','a prefix and vdev:cdrom'),('phy:/dev/x,ioemu:hda,w','ioemu: in the vdev'),('file:/x.img,ioemu:hda:cdrom,r','ioemu: and :cdrom in the vdev'),('phy:,xvda,w','a prefix and an empty target'),('phy:/dev/x,,xvda,w','a prefix then an empty slot')]:
    d(s, n)
# whitespace and bytes
for s, n in [(' format=raw,vdev=xvda,target=/x','leading space'),('format=raw ,vdev=xvda,target=/x','space before a comma'),('vdev=xvda ,target=/x','a trailing space in a value'),('\tvdev=xvda,\ttarget=/x','tabs'),('vdev=xvda,\ntarget=/x','a newline'),('vdev=xvda,\r\ntarget=/x','CR LF'),('vdev=xvda, target=/x ','a trailing space after target='),('vdev=xvda,  target=/x','two spaces'),('/x.img, raw, xvda, rw','spaces between positional'),('/x.img ,raw,xvda','a space after a positional target'),(' /x.img,raw,xvda','a leading space before a positional target'),('vdev=xvda, target=/srv/caf\u00e9.img','UTF-8 in the target'),('vdev=xvda,\u00a0target=/x','a no-break space'),('vdev=xvda,\x0btarget=/x','a vertical tab'),('VDEV=xvda,target=/x','an upper-case key'),('vdev = xvda, target=/x','spaces around =')]:
    d(s, n)
json.dump(D, open(C + '/disk-specs.json', 'w'), indent=1, ensure_ascii=False)
print(len(D), 'disk specs')

# --- rates
R = []
def r(rate, note=''): R.append({'rate': rate, 'note': note})
for u in ['GB','MB','KB','B','Gb','Mb','Kb','b']:
    r(f'10{u}/s', f'unit {u}')
    r(f'10{u}/s@20ms', f'unit {u} with an interval')
for i in ['1s','1','50ms','1ms','1us','20us','1000000000us','4294967295us','4294967296us','5000s','4294s','4295s','0','0ms','010ms','08ms','0x10ms','','m','ms','s','us','20m','20u','20mss','20 ms','20MS','20ns','1.5s','-1s']:
    r(f'10Mb/s@{i}', f'interval {i!r}')
for s, n in [('1b/s','1 bit per second'),('7b/s','7 bits: 0 bytes per second'),('8b/s','8 bits'),('1B/s','1 byte'),('1B/s@1us','1 byte at 1 us: 0 per interval'),('4294967295B/s','the largest number'),('4294967296B/s','one more'),('4294967295GB/s','the largest number in GB'),('4294967295GB/s@1s','the largest number in GB at 1s'),('100Gb/s@1s','12.5 GB per interval'),('34359738367b/s','2^35-1 bits'),('0Mb/s','zero'),('010Mb/s','octal'),('08Mb/s','invalid octal'),('0x10Mb/s','hex'),('10mb/s','lower-case m'),('10kb/s','lower-case k'),('10gB/s','lower-case g'),('10TB/s','T'),('10 Mb/s','a space'),(' 10Mb/s','a leading space'),('10Mb/s ','a trailing space'),('10Mbit/s','Mbit'),('10M/s','no B or b'),('10Mb','no /s'),('10Mb/sec','/sec'),('Mb/s','no number'),('10.5Mb/s','a decimal point'),('-10Mb/s','negative'),('+10Mb/s','plus'),('10Mb/s@20ms@1s','two intervals'),('@20ms','only an interval'),('','empty'),('@','only @'),('8Mb/s@50ms','what xen-qos writes'),('100Mb/s','what the fixtures say'),('1GB/s','1 GB/s'),('1000000Kb/s@1s','1 Gbit in Kb')]:
    r(s, n)
json.dump(R, open(C + '/rates.json', 'w'), indent=1, ensure_ascii=False)
print(len(R), 'rates')
