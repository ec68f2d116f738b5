"""Cost of the function analyses (maps, stitching, interpolation) on a K-instance run: `python tools/function_cost.py RUN DATA`.

RUN holds stored_model_weights/ (e.g. from `repsim train`); DATA is the MNIST folder. Prints wall and CPU seconds per part."""
import sys, time, resource
import torch
from repsim.model import init_net
from repsim.data import load_mnist
from repsim.store import load_instances
from repsim.activations import stacked_activations
from repsim.maps import map_scores
from repsim.stitching import stitching
from repsim.interpolation import interpolation

def cpu(): r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime

def timed(name, f, log):
    w, c = time.perf_counter(), cpu()
    out = f()
    log.append((name, time.perf_counter() - w, cpu() - c))
    print(f"{name:<40} wall {log[-1][1]:6.1f} s   cpu {log[-1][2]:6.1f} s", flush=True)
    return out

if __name__ == '__main__':
    run, data = sys.argv[1], sys.argv[2]
    log = []
    names, sds = load_instances(f'{run}/stored_model_weights')
    seeds = list(range(len(sds)))                       # repsim train's default: instance i has seed i
    train, test = load_mnist(data, train=True), load_mnist(data, train=False)
    xt = test[0]
    null = [init_net(s).state_dict() for s in seeds]
    acts = timed('activations (trained + random init, test)', lambda: (stacked_activations(sds, xt), stacked_activations(null, xt)), log)
    split = lambda a: ({l: v[:, :5000] for l, v in a.items()}, {l: v[:, 5000:] for l, v in a.items()})
    timed('maps, trained', lambda: map_scores(*split(acts[0])), log)
    timed('maps, random-init null', lambda: map_scores(*split(acts[1])), log)
    timed('stitching, trained donors', lambda: stitching(sds, train, test), log)
    timed('stitching, random-init donors', lambda: stitching(sds, train, test, donors=null), log)
    timed('interpolation', lambda: interpolation(sds, train[0][:10000], test), log)
    print(f"{'total':<40} wall {sum(w for _, w, _ in log):6.1f} s   cpu {sum(c for _, _, c in log):6.1f} s   threads {torch.get_num_threads()}")
