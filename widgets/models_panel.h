// Models panel: base LM, reward (model directory, built-in lexicon or external command), optional
// gold reward, device and dtype; recent choices; loading state and errors shown in place.
#pragma once
#include <QString>
#include <QStringList>
#include <QWidget>

class QComboBox;
class QFormLayout;
class QLabel;
class QProgressBar;
class QPushButton;

namespace rudder::widgets {

struct ModelChoice {
    QString baseDir;  // a directory, a cached repo id, or a server http(s)://HOST:PORT/v1[#MODEL]
    QString tokenizer;   // a server's tokenizer here (directory or repo id); ignored for a local model
    QString reward;   // model directory, "lexicon", "cmd:COMMAND" or a server URL
    QString gold;     // same, "" = none
    QString device = "auto";
    QString dtype = "auto";
};

class ModelsPanel : public QWidget {
    Q_OBJECT
public:
    explicit ModelsPanel(QWidget* parent = nullptr);

    ModelChoice choice() const;
    void setChoice(const ModelChoice& c);
    void setCudaAvailable(bool on);
    QStringList recent() const { return recent_; }
    void setRecent(const QStringList& r);

    void setLoading(const QString& stage);
    void setLoaded(const QString& summary);
    void setFailed(const QString& message);
    QString statusText() const;
    bool tokenizerShown() const;   // the tokenizer row, shown while the base is a server URL
    QPushButton* loadButton() const { return load_; }

signals:
    void loadRequested();

private:
    void remember(const QString& entry);
    void showTokenizerRow();
    QComboBox* base_;
    QComboBox* tokenizer_;
    QWidget* tokenizerRow_;
    QFormLayout* form_;
    QComboBox* reward_;
    QComboBox* gold_;
    QComboBox* device_;
    QComboBox* dtype_;
    QPushButton* load_;
    QProgressBar* busy_;
    QLabel* status_;
    QStringList recent_;
};

} // namespace rudder::widgets
