// SHA-256 against the FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf", "SHA2_Additional")
// and, at every length around the block and padding boundaries, against coreutils' sha256sum.
#include <QtTest>

#include <fstream>
#include <string>

#include "rudder/error.h"
#include "rudder/sha256.h"

class TestSha256 : public QObject {
    Q_OBJECT
private slots:
    void fipsVectors()
    {
        QCOMPARE(rudder::sha256Hex(""), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        QCOMPARE(rudder::sha256Hex("abc"),
                 std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        QCOMPARE(rudder::sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                 std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
        QCOMPARE(rudder::sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                                   "klmnopqrlmnopqrsmnopqrstnopqrstu"),
                 std::string("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"));
        QCOMPARE(rudder::sha256Hex(std::string(1000000, 'a')),
                 std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    }

    void boundaryLengthsMatchSha256sum()
    {
        if (QStandardPaths::findExecutable("sha256sum").isEmpty()) QSKIP("sha256sum (coreutils) not found");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        for (int n : {1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, (1 << 20) + 3}) {
            std::string data;
            for (int i = 0; i < n; ++i) data += char((i * 131 + 7) & 0xff);
            std::string path = dir.filePath(QString("f%1").arg(n)).toStdString();
            std::ofstream(path, std::ios::binary) << data;
            QProcess p;
            p.start("sha256sum", {QString::fromStdString(path)});
            QVERIFY(p.waitForFinished(30000));
            std::string ref = p.readAllStandardOutput().left(64).toStdString();
            QCOMPARE(rudder::sha256Hex(data), ref);
            QCOMPARE(rudder::sha256File(path), ref);
        }
    }

    void missingFileNamesIt()
    {
        try {
            rudder::sha256File("/nonexistent/weights.safetensors");
            QFAIL("no error");
        } catch (const rudder::Error& e) {
            QVERIFY(QString(e.what()).contains("/nonexistent/weights.safetensors"));
        }
    }
};

QTEST_GUILESS_MAIN(TestSha256)
#include "test_sha256.moc"
