/** Image datasets read from local files (IDX, CIFAR-10 binary, image folders), class subsets and batch iterators. */
package io.featurerelay.learning.dataset;
