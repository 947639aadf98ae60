package io.featurerelay.learning;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** learning-core is a plain library: the services depend on it, never the other way round. */
class ArchitectureTest {

    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.featurerelay.learning");

    @Test
    void learningCoreImportsNoQuarkusKafkaOrJakarta() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("io.quarkus..", "org.apache.kafka..", "jakarta..", "io.smallrye..",
                        "org.eclipse.microprofile..", "io.vertx..")
                .check(classes);
    }

    @Test
    void javaSerializationIsNotUsed() {
        noClasses().should().dependOnClassesThat()
                .haveFullyQualifiedName("java.io.ObjectOutputStream")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.io.ObjectInputStream")
                .check(classes);
    }
}
