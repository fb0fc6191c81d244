#!/usr/bin/env python3
"""A seccomp agent that decides nothing, for tools/MeasureRuntimeSyscalls (handoff mode): it accepts the runtime's
connections on SOCKET (one sendmsg: the containerProcessState JSON and the notify fd by SCM_RIGHTS, runtime-spec
config-linux.md), answers every notification with SECCOMP_USER_NOTIF_FLAG_CONTINUE (the call runs as made), and prints
one line per notification, "N PID NR", so the measurement can see which calls were notified. Containers are served one
after another, each until its notify fd reports POLLHUP (every task using the filter is gone: the container exited).

usage: notify-continue.py SOCKET
Ioctl numbers and struct layouts: ../shared/docs/OCI-RUNTIMES.md ("Answering"), linux/seccomp.h on x86_64.
"""
import array, fcntl, os, select, socket, struct, sys

NOTIF_RECV, NOTIF_SEND = 0xC0502100, 0xC0182101
FLAG_CONTINUE = 1

def serve(conn):
    _, anc, _, _ = conn.recvmsg(1 << 16, socket.CMSG_SPACE(16 * 4))
    fds = array.array("i")
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    if len(fds) != 1:
        print(f"E expected 1 fd, got {len(fds)}", flush=True)
        for f in fds: os.close(f)
        return
    nfd = fds[0]
    print("C", flush=True)
    p = select.poll()
    p.register(nfd, select.POLLIN)
    while True:
        for _, ev in p.poll():
            if ev & select.POLLIN:
                buf = bytearray(80)  # must be zeroed: the kernel checks
                try:
                    fcntl.ioctl(nfd, NOTIF_RECV, buf, True)
                except OSError:
                    continue  # the caller died before we read it (ENOENT)
                nid, pid, _, nr = struct.unpack_from("<QIIi", buf)
                try:
                    fcntl.ioctl(nfd, NOTIF_SEND, bytearray(struct.pack("<QqiI", nid, 0, 0, FLAG_CONTINUE)), True)
                except OSError:
                    pass
                print(f"N {pid} {nr}", flush=True)
            elif ev & (select.POLLHUP | select.POLLERR):
                os.close(nfd)
                print("H", flush=True)
                return

def main():
    path = sys.argv[1]
    try: os.unlink(path)
    except FileNotFoundError: pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    print("L", flush=True)
    while True:
        conn, _ = s.accept()
        with conn:
            serve(conn)

main()
