/** The reference experiment in one process: base model on the source classes, model 2 and the from-scratch baseline on the target classes. */
package io.featurerelay.learning.experiment;
