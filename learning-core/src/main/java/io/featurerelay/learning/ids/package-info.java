/** What an identifier from outside (a record, a request, a directory listing) may be, by what it becomes. */
package io.featurerelay.learning.ids;
