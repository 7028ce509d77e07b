/**
 * --config must be the configuration of the domain being changed: with --persist the values are
 * written into it, so a file naming another domain (its `name =`) would change that domain at its
 * next start. The engine has checked it is a domain configuration (a regular file of bounded size
 * that parses and sets name =); this checks the name.
 */
import { CONFIG_MAX_BYTES, readBounded, usage, type Transport } from '../../engine/index.js';
import { XlConfig } from '../../xen/xlcfg.js';

export async function checkConfigNamesDomain(host: Transport, file: string, domain: string): Promise<void> {
  const cfg = XlConfig.parse((await readBounded(host, file, CONFIG_MAX_BYTES)).toString('utf8'), { lenient: true });
  const name = cfg.get('name');
  if (name === undefined) throw usage(`--config ${file}: it sets no name =: not the configuration of ${domain}`);
  if (String(name) !== domain) {
    throw usage(
      `--config ${file} is the configuration of domain ${String(name)} (name = "${String(name)}"), not of ${domain}: nothing was changed`,
      `give the configuration file of ${domain} (/etc/xen/${domain}.cfg), or leave --config out`,
    );
  }
}
