"""Ask Xen's own libxlutil (the parser inside `xl create`) how it reads configuration text,
disk specs and vif rates. No hypervisor is needed: these functions only parse.

stdin: {"configs": [text, ...], "disks": [spec, ...], "rates": [rate, ...]}
stdout: {"configs": [{"ok": bool, "values": {key: value}, "report": text}], "disks": [...], "rates": [...]}
"""
import ctypes
import json
import sys

V = ctypes.c_void_p
libc = ctypes.CDLL("libc.so.6")
libc.open_memstream.restype = V
libc.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
libc.fflush.argtypes = [V]
libc.fclose.argtypes = [V]
xlu = ctypes.CDLL("libxlutil.so.4.17")
xl = ctypes.CDLL("libxenlight.so.4.17")
yajl = ctypes.CDLL("libyajl.so.2")

xlu.xlu_cfg_init.restype = V
xlu.xlu_cfg_init.argtypes = [V, ctypes.c_char_p]
xlu.xlu_cfg_destroy.argtypes = [V]
xlu.xlu_cfg_readdata.argtypes = [V, ctypes.c_char_p, ctypes.c_int]
xlu.xlu_cfg_get_string.argtypes = [V, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
xlu.xlu_cfg_get_list.argtypes = [V, ctypes.c_char_p, ctypes.POINTER(V), ctypes.POINTER(ctypes.c_int), ctypes.c_int]
xlu.xlu_cfg_get_listitem2.restype = V
xlu.xlu_cfg_get_listitem2.argtypes = [V, ctypes.c_uint]
xlu.xlu_cfg_value_type.argtypes = [V]
xlu.xlu_cfg_value_get_string.argtypes = [V, V, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
xlu.xlu_cfg_value_get_list.argtypes = [V, V, ctypes.POINTER(V), ctypes.c_int]
xlu.xlu_disk_parse.argtypes = [V, ctypes.c_int, V, V]
xlu.xlu_vif_parse_rate.argtypes = [V, ctypes.c_char_p, V]
xl.libxl_device_disk_init.argtypes = [V]
xl.libxl_device_disk_gen_json.argtypes = [V, V]
xl.libxl_device_nic_init.argtypes = [V]
xl.libxl_device_nic_gen_json.argtypes = [V, V]
yajl.yajl_gen_alloc.restype = V
yajl.yajl_gen_alloc.argtypes = [V]
yajl.yajl_gen_free.argtypes = [V]
yajl.yajl_gen_get_buf.argtypes = [V, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]


class Report:
    """A FILE* whose text we can read back (open_memstream)."""

    def __enter__(self):
        self.buf = ctypes.c_char_p()
        self.size = ctypes.c_size_t()
        self.fh = libc.open_memstream(ctypes.byref(self.buf), ctypes.byref(self.size))
        return self

    def text(self):
        libc.fflush(self.fh)
        return ctypes.string_at(self.buf, self.size.value).decode("utf-8", "replace")

    def __exit__(self, *exc):
        libc.fclose(self.fh)


def setting_names(cfg):
    # struct XLU_Config { XLU_ConfigSetting *settings; ... };
    # struct XLU_ConfigSetting { XLU_ConfigSetting *next; char *name; ... };
    names = []
    p = ctypes.cast(cfg, ctypes.POINTER(V))[0]
    while p:
        fields = ctypes.cast(p, ctypes.POINTER(V))
        names.append(ctypes.cast(fields[1], ctypes.c_char_p).value.decode())
        p = fields[0]
    return list(dict.fromkeys(reversed(names)))


def value_of(cfg, v):
    if xlu.xlu_cfg_value_type(v) == 0:
        s = ctypes.c_char_p()
        xlu.xlu_cfg_value_get_string(cfg, v, ctypes.byref(s), 1)
        return s.value.decode()
    lst = V()
    xlu.xlu_cfg_value_get_list(cfg, v, ctypes.byref(lst), 1)
    out = []
    i = 0
    while True:
        item = xlu.xlu_cfg_get_listitem2(lst, i)
        if not item:
            return out
        out.append(value_of(cfg, item))
        i += 1


def read_config(text):
    with Report() as rep:
        cfg = xlu.xlu_cfg_init(rep.fh, b"config")
        data = text.encode()
        rc = xlu.xlu_cfg_readdata(cfg, data, len(data))
        values = {}
        for name in setting_names(cfg):
            s = ctypes.c_char_p()
            if xlu.xlu_cfg_get_string(cfg, name.encode(), ctypes.byref(s), 1) == 0:
                values[name] = s.value.decode()
                continue
            lst = V()
            count = ctypes.c_int()
            if xlu.xlu_cfg_get_list(cfg, name.encode(), ctypes.byref(lst), ctypes.byref(count), 1) == 0:
                values[name] = [value_of(cfg, xlu.xlu_cfg_get_listitem2(lst, i)) for i in range(count.value)]
        report = rep.text()
        xlu.xlu_cfg_destroy(cfg)
    return {"ok": rc == 0, "values": values, "report": report}


def gen_json(fn, obj):
    h = yajl.yajl_gen_alloc(None)
    fn(h, obj)
    buf = ctypes.c_char_p()
    size = ctypes.c_size_t()
    yajl.yajl_gen_get_buf(h, ctypes.byref(buf), ctypes.byref(size))
    out = json.loads(ctypes.string_at(buf, size.value).decode())
    yajl.yajl_gen_free(h)
    return out


def read_disk(spec):
    with Report() as rep:
        cfg = xlu.xlu_cfg_init(rep.fh, b"config")
        disk = ctypes.create_string_buffer(8192)
        xl.libxl_device_disk_init(disk)
        specs = (ctypes.c_char_p * 1)(spec.encode())
        rc = xlu.xlu_disk_parse(cfg, 1, specs, disk)
        report = rep.text()
        xlu.xlu_cfg_destroy(cfg)
    return {"ok": rc == 0, "disk": gen_json(xl.libxl_device_disk_gen_json, disk), "report": report}


def read_rate(rate):
    with Report() as rep:
        cfg = xlu.xlu_cfg_init(rep.fh, b"config")
        nic = ctypes.create_string_buffer(8192)
        xl.libxl_device_nic_init(nic)
        rc = xlu.xlu_vif_parse_rate(cfg, rate.encode(), nic)
        report = rep.text()
        xlu.xlu_cfg_destroy(cfg)
    nic_json = gen_json(xl.libxl_device_nic_gen_json, nic)
    return {
        "ok": rc == 0,
        "bytesPerInterval": nic_json.get("rate_bytes_per_interval"),
        "intervalUsecs": nic_json.get("rate_interval_usecs"),
        "report": report,
    }


request = json.load(sys.stdin)
json.dump(
    {
        "configs": [read_config(t) for t in request.get("configs", [])],
        "disks": [read_disk(s) for s in request.get("disks", [])],
        "rates": [read_rate(r) for r in request.get("rates", [])],
    },
    sys.stdout,
)
