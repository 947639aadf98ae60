/** The command line: the reference experiment in one process, and writing small dataset samples. */
package io.featurerelay.learning.cli;
