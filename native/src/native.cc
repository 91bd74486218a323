// containerd_ts_native: the syscalls the shim needs and Node does not expose.
//
//  - prctl(PR_SET_CHILD_SUBREAPER): runc create double-forks; the container
//    init must be re-parented to the shim (not to pid 1) so the shim can reap
//    it and learn its exact exit status.
//  - waitid(P_PID) on an arbitrary pid: child_process only waits for children
//    libuv spawned itself; a re-parented init is invisible to it.
//  - recvmsg(SCM_RIGHTS): runc --console-socket hands over the pty master fd.
//  - ioctl(TIOCSWINSZ): resize that pty.
//  - llistxattr/lgetxattr: the differ reads xattrs (overlay opaque dirs,
//    file capabilities) of the files it puts into a layer.
//
// Blocking calls run on a dedicated std::thread per call, NOT the libuv
// threadpool (4 threads by default: a few outstanding waits would starve
// fs/dns/crypto work). The result goes back to the JS thread through a
// napi_threadsafe_function, which also keeps the event loop alive until the
// call settles (a shim must stay up to report its container's exit).
//
// Never waitpid(-1)/waitid(P_ALL) here: libuv reaps the children it spawned
// by pid on SIGCHLD and would lose them; we only ever wait for one named pid.

#include <napi.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <termios.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace {

// An Error shaped like Node's system errors: message, code ('ECHILD'), errno, syscall.
Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall,
                       const std::string& detail = "") {
  const char* name = strerrorname_np(err);
  std::string code = name ? name : "E" + std::to_string(err);
  std::string msg = syscall + " " + code + ": " + std::strerror(err);
  if (!detail.empty()) msg += " (" + detail + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", code);
  e.Set("errno", Napi::Number::New(env, -err));  // negative, as in Node
  e.Set("syscall", syscall);
  return e;
}

// Result of a blocking job, filled on the worker thread, read on the JS thread.
struct Outcome {
  int err = 0;          // errno; 0 = success
  std::string syscall;  // failing call, for the error
  std::string detail;   // extra message text
  std::function<Napi::Value(Napi::Env)> value;  // builds the resolved value
};

struct Job {
  Napi::Promise::Deferred deferred;
  Outcome outcome;
};

// Runs on the JS thread (env is null if the environment is being torn down).
void Settle(Napi::Env env, Napi::Function, std::nullptr_t*, Job* job) {
  if (env != nullptr) {
    Napi::HandleScope scope(env);
    const Outcome& o = job->outcome;
    if (o.err != 0)
      job->deferred.Reject(ErrnoError(env, o.err, o.syscall, o.detail).Value());
    else
      job->deferred.Resolve(o.value ? o.value(env) : env.Undefined());
  }
  delete job;
}

using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Job, Settle>;

// Runs `work` on a fresh detached thread; the promise settles with its Outcome.
Napi::Promise RunInThread(Napi::Env env, const char* name, std::function<Outcome()> work) {
  Job* job = new Job{Napi::Promise::Deferred::New(env), {}};
  Napi::Promise promise = job->deferred.Promise();
  Tsfn tsfn = Tsfn::New(env, name, 0, 1);  // refs the loop until Release()
  try {
    std::thread([tsfn, job, work = std::move(work)]() {
      // Signals stay with the main thread (libuv's SIGCHLD handling, Node's
      // signal handlers); this thread must not absorb them.
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      job->outcome = work();
      if (tsfn.BlockingCall(job) != napi_ok) delete job;  // env gone
      tsfn.Release();
    }).detach();
  } catch (const std::system_error& e) {  // thread creation failed
    tsfn.Release();
    job->deferred.Reject(ErrnoError(env, e.code().value(), "pthread_create").Value());
    delete job;
  }
  return promise;
}

// {pid, exitCode, signal, status} from a waitid siginfo; status is
// containerd's: the exit code, or 128+signal if killed.
Napi::Value ExitStatusValue(Napi::Env env, pid_t pid, int code, int sistatus) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", pid);
  bool exited = code == CLD_EXITED;
  o.Set("exitCode", exited ? Napi::Value(Napi::Number::New(env, sistatus)) : env.Null());
  o.Set("signal", exited ? env.Null() : Napi::Value(Napi::Number::New(env, sistatus)));
  o.Set("status", exited ? sistatus : 128 + sistatus);
  return o;
}

pid_t PidArg(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "pid must be a number");
  int32_t pid = info[0].As<Napi::Number>().Int32Value();
  if (pid <= 0) throw Napi::RangeError::New(info.Env(), "pid must be a positive integer");
  return pid;
}

int Int32Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

void SetChildSubreaper(const Napi::CallbackInfo& info) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    throw ErrnoError(info.Env(), errno, "prctl", "PR_SET_CHILD_SUBREAPER");
}

// Blocks (on its own thread) until `pid` exits and reaps it.
Napi::Value WaitForExit(const Napi::CallbackInfo& info) {
  pid_t pid = PidArg(info);
  return RunInThread(info.Env(), "containerd_ts_native.waitForExit", [pid]() {
    Outcome o;
    siginfo_t si;
    int rc;
    do {
      std::memset(&si, 0, sizeof si);
      rc = waitid(P_PID, pid, &si, WEXITED);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      o.err = errno;
      o.syscall = "waitid";
      o.detail = "pid " + std::to_string(pid);
      return o;
    }
    int code = si.si_code, status = si.si_status;
    o.value = [pid, code, status](Napi::Env env) { return ExitStatusValue(env, pid, code, status); };
    return o;
  });
}

// Non-blocking: reaps `pid` if it has exited, else returns null.
Napi::Value ReapPid(const Napi::CallbackInfo& info) {
  pid_t pid = PidArg(info);
  siginfo_t si;
  int rc;
  do {
    std::memset(&si, 0, sizeof si);  // si_pid stays 0 if nothing to reap
    rc = waitid(P_PID, pid, &si, WEXITED | WNOHANG);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw ErrnoError(info.Env(), errno, "waitid", "pid " + std::to_string(pid));
  if (si.si_pid == 0) return info.Env().Null();
  return ExitStatusValue(info.Env(), pid, si.si_code, si.si_status);
}

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// poll() one fd for input until the absolute monotonic deadline; 0 on ready,
// else errno (ETIMEDOUT on timeout).
int WaitReadable(int fd, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - NowMs();
    if (left <= 0) return ETIMEDOUT;
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : int(left));
    if (rc > 0) return 0;
    if (rc < 0 && errno != EINTR) return errno;
  }
}

// Accepts one connection on `lfd` and receives one SCM_RIGHTS fd from it.
Outcome AcceptAndReceive(int lfd, int64_t deadline) {
  Outcome o;
  int cfd = -1, fd = -1;
  auto fail = [&](int err, const char* syscall) {
    o.err = err;
    o.syscall = syscall;
  };
  if (int err = WaitReadable(lfd, deadline)) {
    fail(err, "accept");
  } else if ((cfd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC)) < 0) {
    fail(errno, "accept4");
  } else if (int err = WaitReadable(cfd, deadline)) {
    fail(err, "recvmsg");
  } else {
    // runc sends the terminal name as payload; we read and drop it.
    char payload[4096];
    iovec iov{payload, sizeof payload};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do n = recvmsg(cfd, &msg, MSG_CMSG_CLOEXEC);  // fd must not leak into runc & co.
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      fail(errno, "recvmsg");
    } else {
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int* fds = reinterpret_cast<int*>(CMSG_DATA(c));
        for (size_t i = 0; i < count; i++) {
          if (fd < 0) fd = fds[i];
          else close(fds[i]);  // only one fd is expected; never leak extras
        }
      }
      if (fd < 0) {
        fail(EBADMSG, "recvmsg");
        o.detail = n == 0 ? "peer closed without sending an fd" : "message carried no SCM_RIGHTS fd";
      }
    }
  }
  if (cfd >= 0) close(cfd);
  if (fd >= 0) o.value = [fd](Napi::Env env) { return Napi::Number::New(env, fd); };
  return o;
}

// Listens at a unix socket path, receives one fd (runc's --console-socket).
// The socket is bound before this returns, so the caller may start runc
// right after calling it; only accept/recvmsg run on the thread.
Napi::Value ReceiveFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "socketPath must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int timeoutMs = Int32Arg(info, 1, "timeoutMs");
  if (timeoutMs < 0) throw Napi::RangeError::New(env, "timeoutMs must be >= 0");

  auto rejected = [&](int err, const char* syscall) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(ErrnoError(env, err, syscall, path).Value());
    return d.Promise();
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return rejected(ENAMETOOLONG, "bind");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) return rejected(errno, "socket");
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(lfd);
    return rejected(err, "bind");  // e.g. EADDRINUSE: not ours, do not unlink
  }
  if (listen(lfd, 1) != 0) {
    int err = errno;
    close(lfd);
    unlink(path.c_str());
    return rejected(err, "listen");
  }
  int64_t deadline = NowMs() + timeoutMs;
  return RunInThread(env, "containerd_ts_native.receiveFd", [lfd, path, deadline, timeoutMs]() {
    Outcome o = AcceptAndReceive(lfd, deadline);
    close(lfd);
    unlink(path.c_str());
    if (o.err == ETIMEDOUT)
      o.detail = "no fd received on " + path + " within " + std::to_string(timeoutMs) + " ms";
    else if (o.err != 0 && o.detail.empty())
      o.detail = path;
    return o;
  });
}

void SetWindowSize(const Napi::CallbackInfo& info) {
  int fd = Int32Arg(info, 0, "fd");
  int rows = Int32Arg(info, 1, "rows"), cols = Int32Arg(info, 2, "cols");
  if (rows < 0 || cols < 0 || rows > 0xffff || cols > 0xffff)
    throw Napi::RangeError::New(info.Env(), "rows and cols must be within 0..65535");
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0)
    throw ErrnoError(info.Env(), errno, "ioctl", "TIOCSWINSZ on fd " + std::to_string(fd));
}

// The kernel's OOM-kill count of a memory cgroup (v1 memory.oom_control or
// v2 memory.events, line "oom_kill N"); -1 when the cgroup is gone.
long ReadOomKills(const std::string& file) {
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  const char* p = strstr(buf, "oom_kill ");
  return p ? strtol(p + 9, nullptr, 10) : 0;
}

// Blocks until the cgroup `dir` records an OOM kill beyond `baseline`
// (resolves with the new count) or disappears (resolves with -1). The count
// is read on this thread the moment the kernel signals, because systemd
// removes an emptied scope's cgroup right after the killed init is gone;
// a read from the JS thread would often come too late. v1: eventfd
// registered through cgroup.event_control; v2: inotify on memory.events.
Napi::Value WaitForOomKill(const Napi::CallbackInfo& info) {
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    throw Napi::TypeError::New(info.Env(), "waitForOomKill(dir: string, baseline: number)");
  std::string dir = info[0].As<Napi::String>();
  long baseline = info[1].As<Napi::Number>().Int64Value();
  return RunInThread(info.Env(), "waitForOomKill", [dir, baseline]() {
    Outcome o;
    long result = -1;
    std::string v2file = dir + "/memory.events";
    bool v2 = access(v2file.c_str(), F_OK) == 0;
    if (v2) {
      int in = inotify_init1(IN_CLOEXEC);
      if (in < 0 || inotify_add_watch(in, v2file.c_str(), IN_MODIFY) < 0) {
        o.err = errno; o.syscall = "inotify_add_watch"; o.detail = v2file;
        if (in >= 0) close(in);
        return o;
      }
      for (;;) {
        long n = ReadOomKills(v2file);
        if (n < 0 || n > baseline) { result = n; break; }
        char ev[4096];
        ssize_t r = read(in, ev, sizeof ev);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        bool gone = false;
        for (char* p = ev; p < ev + r;) {
          auto* e = reinterpret_cast<inotify_event*>(p);
          if (e->mask & (IN_IGNORED | IN_DELETE_SELF)) gone = true;
          p += sizeof(inotify_event) + e->len;
        }
        if (gone) { long m = ReadOomKills(v2file); result = m > baseline ? m : -1; break; }
      }
      close(in);
    } else {
      std::string oomFile = dir + "/memory.oom_control";
      int efd = eventfd(0, EFD_CLOEXEC);
      int ofd = open(oomFile.c_str(), O_RDONLY | O_CLOEXEC);
      int cfd = open((dir + "/cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC);
      std::string reg = std::to_string(efd) + " " + std::to_string(ofd);
      if (efd < 0 || ofd < 0 || cfd < 0 || write(cfd, reg.c_str(), reg.size()) < 0) {
        o.err = errno; o.syscall = "cgroup.event_control"; o.detail = dir;
      } else {
        for (;;) {
          long n = ReadOomKills(oomFile);
          if (n < 0 || n > baseline) { result = n; break; }
          uint64_t count;
          ssize_t r = read(efd, &count, sizeof count);  // OOM event, or the cgroup's removal
          if (r < 0 && errno == EINTR) continue;
          if (r <= 0) break;
          // v1 signals before the kill is counted: an event while the cgroup
          // still exists is the OOM itself; after removal the file is gone.
          n = ReadOomKills(oomFile);
          result = n < 0 ? -1 : (n > baseline ? n : baseline + 1);
          break;
        }
      }
      if (cfd >= 0) close(cfd);
      if (ofd >= 0) close(ofd);
      if (efd >= 0) close(efd);
      if (o.err != 0) return o;
    }
    o.value = [result](Napi::Env env) { return Napi::Number::New(env, static_cast<double>(result)); };
    return o;
  });
}

// pipe2(O_CLOEXEC): a real pipe (libuv's 'pipe' stdio is a socketpair) for a
// container's stdin; dup2 into the child clears CLOEXEC on its copy only.
Napi::Value MakePipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw ErrnoError(info.Env(), errno, "pipe2");
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), fds[0]));
  out.Set(1u, Napi::Number::New(info.Env(), fds[1]));
  return out;
}

// dup2(2): a shim recycled for another container points its stderr (its log)
// at that container's shim.log.
Napi::Value Dup2(const Napi::CallbackInfo& info) {
  int from = Int32Arg(info, 0, "oldfd");
  int to = Int32Arg(info, 1, "newfd");
  if (dup2(from, to) < 0) throw ErrnoError(info.Env(), errno, "dup2");
  return info.Env().Undefined();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

// sd_notify(3): one datagram to $NOTIFY_SOCKET (a path, or "@name" in the
// abstract namespace). Sent from the daemon's own process, so systemd knows
// the sender without systemd-notify(1) (a process spawn of ~30 ms at start).
Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "socket");
  std::string message = StringArg(info, 1, "message");
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) throw Napi::Error::New(info.Env(), "invalid notify socket path");
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), path.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(info.Env(), errno, "socket");
  ssize_t n = sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  int err = errno;
  close(fd);
  if (n < 0) throw ErrnoError(info.Env(), err, "sendto");
  return info.Env().Undefined();
}

// mount(2) on a worker thread: the daemon mounts every container's rootfs,
// and spawning mount(8) for it cost 10-30 ms per create.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string source = StringArg(info, 0, "source");
  std::string target = StringArg(info, 1, "target");
  std::string fstype = StringArg(info, 2, "fstype");
  unsigned long flags = static_cast<unsigned long>(Int32Arg(info, 3, "flags"));
  std::string data = StringArg(info, 4, "data");
  return RunInThread(info.Env(), "mount", [source, target, fstype, flags, data]() {
    Outcome o;
    if (mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
      o.err = errno;
      o.syscall = "mount";
      o.detail = target;
    }
    return o;
  });
}

// umount2(2) on a worker thread (an overlay unmount can wait on the disk).
Napi::Value Unmount(const Napi::CallbackInfo& info) {
  std::string target = StringArg(info, 0, "target");
  int flags = Int32Arg(info, 1, "flags");
  return RunInThread(info.Env(), "umount2", [target, flags]() {
    Outcome o;
    if (umount2(target.c_str(), flags) != 0) {
      o.err = errno;
      o.syscall = "umount2";
      o.detail = target;
    }
    return o;
  });
}

// mkfifo(3): Node has none, and spawning mkfifo(1) for a run's FIFOs cost
// the CLI 5-15 ms.
void MakeFifo(const Napi::CallbackInfo& info) {
  std::string target = StringArg(info, 0, "path");
  int mode = Int32Arg(info, 1, "mode");
  if (mkfifo(target.c_str(), static_cast<mode_t>(mode)) != 0) throw ErrnoError(info.Env(), errno, "mkfifo", target);
}

// fcntl(FD_CLOEXEC) on a descriptor a library opened without it (LMDB):
// otherwise every shim and runc the daemon starts inherits it.
void SetCloseOnExec(const Napi::CallbackInfo& info) {
  int fd = Int32Arg(info, 0, "fd");
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) throw ErrnoError(info.Env(), errno, "fcntl");
}

// Every extended attribute of `path` (a symlink itself, not its target), as
// [[name, Buffer], ...]; [] where the filesystem has none (ENOTSUP).
// Synchronous: two short syscalls per attribute, called once per file the
// differ writes, where a thread round trip would cost more than the call.
Napi::Value ListXattrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  Napi::Array out = Napi::Array::New(env);
  std::vector<char> names;
  for (;;) {
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return out;
      throw ErrnoError(env, errno, "llistxattr", path);
    }
    if (n == 0) return out;
    names.resize(static_cast<size_t>(n));
    n = llistxattr(path.c_str(), names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      break;
    }
    if (errno != ERANGE) throw ErrnoError(env, errno, "llistxattr", path);  // ERANGE: grew meanwhile, retry
  }
  uint32_t index = 0;
  std::vector<char> value;
  for (size_t start = 0; start < names.size();) {
    std::string name(names.data() + start);
    start += name.size() + 1;
    if (name.empty()) continue;
    ssize_t len;
    for (;;) {
      len = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (len < 0) break;
      value.resize(static_cast<size_t>(len));
      len = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (len >= 0 || errno != ERANGE) break;
    }
    if (len < 0) {
      if (errno == ENODATA) continue;  // removed between the two calls
      throw ErrnoError(env, errno, "lgetxattr", path + " " + name);
    }
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, name));
    pair.Set(1u, Napi::Buffer<char>::Copy(env, value.data(), static_cast<size_t>(len)));
    out.Set(index++, pair);
  }
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("listXattrs", Napi::Function::New(env, ListXattrs));
  exports.Set("setCloseOnExec", Napi::Function::New(env, SetCloseOnExec));
  exports.Set("mkfifo", Napi::Function::New(env, MakeFifo));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("unmount", Napi::Function::New(env, Unmount));
  exports.Set("pipe", Napi::Function::New(env, MakePipe));
  exports.Set("dup2", Napi::Function::New(env, Dup2));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify));
  exports.Set("waitForOomKill", Napi::Function::New(env, WaitForOomKill));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
  exports.Set("waitForExit", Napi::Function::New(env, WaitForExit));
  exports.Set("reapPid", Napi::Function::New(env, ReapPid));
  exports.Set("receiveFd", Napi::Function::New(env, ReceiveFd));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  return exports;
}

}  // namespace

NODE_API_MODULE(containerd_ts_native, Init)
