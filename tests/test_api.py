"The package's public API: every name in `repsim.__all__` resolves, and `import repsim` alone stays light."
import subprocess, sys

def test_public_names_resolve():
    import repsim, repsim.measures, repsim.study
    for name in repsim.__all__: assert getattr(repsim, name) is not None, name
    assert repsim.linear_cka is repsim.measures.linear_cka and repsim.run_study is repsim.study.run_study

def test_import_is_light():
    code = "import sys, repsim; assert 'torch' not in sys.modules, 'import repsim loaded torch'"
    subprocess.run([sys.executable, '-c', code], check=True)

def test_unknown_name():
    import repsim, pytest
    with pytest.raises(AttributeError, match="no attribute 'nope'"): repsim.nope
