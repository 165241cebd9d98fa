#include <QtTest>
class TestSessionDb : public QObject {
    Q_OBJECT
private slots:
    void placeholder() { QSKIP("being written"); }
};
QTEST_GUILESS_MAIN(TestSessionDb)
#include "test_session_db.moc"
