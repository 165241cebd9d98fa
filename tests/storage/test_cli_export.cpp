#include <QtTest>
class TestCliExport : public QObject {
    Q_OBJECT
private slots:
    void placeholder() { QSKIP("being written"); }
};
QTEST_GUILESS_MAIN(TestCliExport)
#include "test_cli_export.moc"
