package projection

import "bytes"

// scopePrefix returns the container runtime prefix of a systemd scope name: docker-<id>.scope,
// cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope. The conmon scopes of cri-o and podman
// (crio-conmon-<id>.scope, libpod-conmon-<id>.scope) hold the monitor, not the container, and do not
// match because what follows the prefix is not 64 hex digits.
func scopePrefix(i int) string {
	switch i {
	case 0:
		return "docker-"
	case 1:
		return "cri-containerd-"
	case 2:
		return "crio-"
	case 3:
		return "libpod-"
	}
	return ""
}

// ContainerID returns the id of the container a cgroup path belongs to, or "" when it is not a
// container's. It knows the systemd scope names of docker, containerd (CRI), cri-o and podman, and the
// cgroupfs layouts /docker/<id> and /kubepods/.../<id>: any path component that is 64 hex digits,
// optionally as <prefix><id>.scope. The innermost match wins.
func ContainerID(cgroup []byte) string {
	for rest := cgroup; len(rest) > 0; {
		i := bytes.LastIndexByte(rest, '/')
		comp := rest[i+1:]
		rest = rest[:max(i, 0)]
		if id := componentID(comp); id != "" {
			return id
		}
	}
	return ""
}

func componentID(comp []byte) string {
	if isContainerID(comp) {
		return string(comp)
	}
	s, ok := bytes.CutSuffix(comp, []byte(".scope"))
	if !ok {
		return ""
	}
	for i := 0; scopePrefix(i) != ""; i++ {
		if id, ok := bytes.CutPrefix(s, []byte(scopePrefix(i))); ok && isContainerID(id) {
			return string(id)
		}
	}
	return ""
}

func isContainerID(p []byte) bool {
	if len(p) != 64 {
		return false
	}
	for _, c := range p {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
