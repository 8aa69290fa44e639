package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/factstream/factstream/sensor"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// deploymentsDir holds the manifests, units and example configuration of deployments/.
const deploymentsDir = "../../deployments"

// TestDeployments parses every file of deployments/ and checks each command line and configuration in
// them with the binary's own parsers: a renamed flag or configuration key fails here, not on a fleet.
func TestDeployments(t *testing.T) {
	t.Run("sensor.example.yaml", func(t *testing.T) {
		checkSensorArgs(t, []string{"--config", filepath.Join(deploymentsDir, "sensor.example.yaml")}, nil)
	})
	t.Run("resolver.example.yaml", func(t *testing.T) {
		checkResolverArgs(t, []string{"--config", filepath.Join(deploymentsDir, "resolver.example.yaml")}, nil)
	})
	t.Run("kubernetes", func(t *testing.T) {
		for _, w := range kubeWorkloads(t, filepath.Join(deploymentsDir, "kubernetes", "factstream.yaml")) {
			checkCommand(t, w.args, w.env, w.files)
		}
	})
	t.Run("systemd", func(t *testing.T) {
		for _, unit := range []string{"factstream-sensor.service", "factstream-resolver.service"} {
			args := execStart(t, filepath.Join(deploymentsDir, "systemd", unit))
			files := map[string]string{"/etc/factstream/sensor.yaml": filepath.Join(deploymentsDir, "sensor.example.yaml"),
				"/etc/factstream/resolver.yaml": filepath.Join(deploymentsDir, "resolver.example.yaml")}
			checkCommand(t, args, nil, files)
		}
	})
}

// checkCommand checks one factstream command line (args after the binary) with env; files maps paths the
// command reads (a mounted configuration) to where the test finds them.
func checkCommand(t *testing.T, args, env []string, files map[string]string) {
	t.Helper()
	if len(args) == 0 {
		t.Fatal("no command")
	}
	for i, a := range args {
		if f, ok := files[a]; ok {
			args[i] = f
		}
	}
	switch args[0] {
	case "sensor":
		checkSensorArgs(t, args[1:], env)
	case "resolver":
		checkResolverArgs(t, args[1:], env)
	default:
		t.Errorf("unknown command %q", args[0])
	}
}

// checkSensorArgs parses the sensor's flags and loads its configuration as `factstream sensor` does.
func checkSensorArgs(t *testing.T, args, env []string) {
	t.Helper()
	fs := pflag.NewFlagSet("sensor", pflag.ContinueOnError)
	flags := sensor.BindFlags(fs)
	fs.String("ready-file", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatalf("sensor %q: %v", args, err)
	}
	if _, err := sensor.Load(sensor.Sources{Env: env, Flags: flags}); err != nil {
		t.Errorf("sensor %q: %v", args, err)
	}
}

// checkResolverArgs parses the resolver's flags and loads its configuration as `factstream resolver`
// does, and checks that it is told where NATS is rather than left at the loopback default.
func checkResolverArgs(t *testing.T, args, env []string) {
	t.Helper()
	o := &resolverOptions{}
	fs := pflag.NewFlagSet("resolver", pflag.ContinueOnError)
	o.bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("resolver %q: %v", args, err)
	}
	if err := o.client.loadEnv(env); err != nil {
		t.Errorf("resolver %q: %v", args, err)
	}
	if o.cfg.NATS.URL == defaultClientConfig().NATS.URL {
		t.Errorf("resolver %q: nats.url is the default %s", args, o.cfg.NATS.URL)
	}
}

// workload is one container of a manifest: its arguments, environment, and the files its volumes give.
type workload struct {
	args  []string
	env   []string
	files map[string]string
}

// kubeWorkloads reads the containers of the DaemonSets and Deployments of a manifest; a ConfigMap
// mounted into a container is written to the test's directory and mapped from its mount path.
func kubeWorkloads(t *testing.T, path string) []workload {
	t.Helper()
	docs := yamlDocs(t, path)
	configMaps := map[string]map[string]string{}
	for _, d := range docs {
		if d.Kind == "ConfigMap" {
			configMaps[d.Metadata.Name] = d.Data
		}
	}
	var out []workload
	for _, d := range docs {
		if d.Kind != "DaemonSet" && d.Kind != "Deployment" {
			continue
		}
		pod := d.Spec.Template.Spec
		for _, c := range pod.Containers {
			w := workload{args: slices.Clone(c.Args), files: map[string]string{}}
			for _, e := range c.Env {
				v := e.Value
				if v == "" {
					v = "node-1" // from the downward API
				}
				w.env = append(w.env, e.Name+"="+v)
			}
			for _, m := range c.VolumeMounts {
				for _, v := range pod.Volumes {
					if v.Name == m.Name && v.ConfigMap.Name != "" {
						for key, data := range configMaps[v.ConfigMap.Name] {
							f := filepath.Join(t.TempDir(), key)
							if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
								t.Fatal(err)
							}
							w.files[m.MountPath+"/"+key] = f
						}
					}
				}
			}
			out = append(out, w)
		}
	}
	if len(out) != 2 {
		t.Errorf("%s: %d containers, want the sensor's and the resolver's", path, len(out))
	}
	return out
}

// kubeDoc is what the test reads of a Kubernetes object.
type kubeDoc struct {
	Kind     string
	Metadata struct{ Name string }
	Data     map[string]string
	Spec     struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Args []string
					Env  []struct {
						Name, Value string
					}
					VolumeMounts []struct {
						Name      string
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				}
				Volumes []struct {
					Name      string
					ConfigMap struct{ Name string } `yaml:"configMap"`
				}
			}
		}
	}
}

func yamlDocs(t *testing.T, path string) []kubeDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []kubeDoc
	for {
		var d kubeDoc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, d)
	}
}

// execStart returns the arguments of a unit's ExecStart after the binary.
func execStart(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "ExecStart="); ok {
			fields := strings.Fields(line)
			if len(fields) < 2 || filepath.Base(fields[0]) != "factstream" {
				t.Fatalf("%s: ExecStart %q does not run factstream", path, line)
			}
			return fields[1:]
		}
	}
	t.Fatalf("%s: no ExecStart", path)
	return nil
}
