/** What windows-hvm's steps find, passed from one to the next. */

export interface WindowsHvmState {
  /** The system runs as Xen's dom0 (check-dom0): the Xen checks and --start apply. */
  dom0: boolean;
  /** `xl info` / `xm info` as a map, asked once; undefined when the toolstack could not talk to Xen. */
  xenInfo?: { info: Record<string, string> | undefined; error: string | undefined };
  /** The guest's MAC: --mac, the existing file's, or a new 00:16:3e address. */
  mac?: string;
  /** The disks the existing NAME.cfg names (not its CD drive). */
  existingDisks: string[];
  /** The VNC display the existing NAME.cfg fixes. */
  existingVncDisplay?: number;
  /** --disk is a block device (an LV), not an image file. */
  diskIsBlockDevice: boolean;
  /** The size of the image to create, when --disk does not exist yet. */
  createDisk?: number;
  /** xend's qemu-dm path (device_model), for --toolstack xm. */
  deviceModel?: string;
  /** The VNC password, read from --vnc-password-file. */
  vncPassword?: string;
  /** The domain id, once the guest runs. */
  domid?: string;
}
