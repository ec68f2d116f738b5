__version__ = "0.1.0"

# The public API, importable from the package itself (`from repsim import linear_cka, run_study`).
# Each name is imported from its module on first use, so `import repsim` stays light: the command
# line sets its threading options before torch loads. The modules are written by nbdev from the
# notebooks; this file is not.
_API = dict(
    measures=('NAMES', 'REGISTRY', 'summarize', 'instance_pairs', 'invariance_table',
              'linear_cka', 'rbf_cka', 'procrustes_similarity', 'procrustes_distance',
              'procrustes_align', 'match_neurons', 'neuron_correlation', 'svcca', 'rsa',
              'rsa_euclidean', 'rdm', 'mutual_knn'),
    pairs=('all_pairs',),
    similarity=('Prepared', 'Settings'),
    similarity_seed=('raw_cosine', 'sorted_cosine', 'raw_pearson', 'sorted_pearson'),
    data=('load_mnist', 'data_root', 'test_images'),
    store=('load_instances', 'load_instance'),
    activations=('collect_activations', 'stacked_activations'),
    model=('Net', 'init_net', 'Arch', 'parse_arch', 'build', 'MLP', 'CNN'),
    stacked=('permute_hidden',),
    training_run=('DESIGNS',),
    stats=('compare_conditions', 'condition_ci', 'holm'),
    nulls=('CONDITIONS',),
    controls=('Controls', 'run_controls'),
    report=('Report',),
    verdict=('seed_claims', 'write_report', 'render_report'),
    config=('StudyConfig',),
    study=('run_study',),
    sweep=('SweepConfig', 'run_sweep', 'sweep_tables'),
)
_WHERE = {name: mod for mod, names in _API.items() for name in names}
__all__ = ['__version__', *_WHERE]

def __getattr__(name:str):
    "Import a public name from its module the first time it is asked for."
    if name not in _WHERE: raise AttributeError(f"module 'repsim' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f'repsim.{_WHERE[name]}'), name)
    globals()[name] = value
    return value

def __dir__(): return sorted(__all__)
