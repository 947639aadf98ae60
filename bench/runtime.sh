# Sourced by bench/run.sh and bench/profile.sh (from the repository root): the services' runtime settings, for
# both frameworks' runs, and the instruction set to run at.

# glibc's allocator and libgomp, as the services run (the file says why each is there); PyTorch's run gets them too
set -a
. deploy/k8s/base/native-runtime.env
set +a
# the JVM settings of the services (deploy/local/run.sh, deploy/k8s): heap, off-heap and physical caps
jvm=(-Xmx512m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Dorg.bytedeco.javacpp.maxbytes=900m -Dorg.bytedeco.javacpp.maxphysicalbytes=1500m --add-modules=jdk.incubator.vector)
# more JVM options for an A/B run, e.g. BENCH_JVM_OPTS=-Dfeaturerelay.onednn.direct=false (split at spaces)
# shellcheck disable=SC2206
jvm+=(${BENCH_JVM_OPTS-})

# --isa avx2 on an AVX-512 machine: the code an AVX2-only CPU would run, in both frameworks: libnd4j's
# onednn-avx2 build, oneDNN's JIT kernels (libnd4j's and PyTorch's) capped at AVX2 (DNNL_MAX_CPU_ISA), PyTorch's
# own kernels at AVX2 (ATEN_CPU_CAPABILITY), OpenBLAS's at Haswell (OPENBLAS_CORETYPE), and the JVM's compiled code
# at AVX2 (-XX:UseAVX=2: the vector API's preferred width is then 256 bits, as VectorHalves finds it there). The
# cores, caches and memory stay this machine's: a stand-in for an AVX2 machine, not one.
apply_isa() { # native|avx2
  case "$1" in
    native) ;;
    avx2)
      grep -qw avx2 /proc/cpuinfo || { echo "error: this CPU has no AVX2" >&2; exit 2; }
      jvm+=(-Dorg.bytedeco.javacpp.platform.extension=-onednn-avx2 -XX:UseAVX=2)
      export DNNL_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell
      export BENCH_ISA="AVX2 on this CPU (DNNL_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2, OPENBLAS_CORETYPE=Haswell, -XX:UseAVX=2)" ;;
    *) echo "error: --isa must be native or avx2, got '$1'" >&2; exit 64 ;;
  esac
}

# PyTorch's linear layers run on Debian's BLAS alternative: with the reference BLAS (python3-torch alone) its dense
# layers are 10-20 times slower, and a comparison with it would say nothing. Exits unless torch and OpenBLAS are here.
require_pytorch_openblas() { # what needs it, for the message
  if ! /usr/bin/python3 -c 'import torch' 2>/dev/null \
      || ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -q openblas; then
    echo "error: $1 needs Debian's PyTorch and OpenBLAS:" >&2
    echo "       sudo apt-get install -y python3-torch libopenblas0-pthread   (or run with --no-pytorch)" >&2
    exit 1
  fi
}
