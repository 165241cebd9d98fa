// Prompt panel: the prompt editor with the template's rendered preview and token count, and a
// dataset browser for JSONL files (choose the prompt field, pick one or many prompts).
#pragma once
#include <QString>
#include <QStringList>
#include <QWidget>

#include <string>
#include <vector>

#include "rudder/session_db.h"   // PromptRecord

class QComboBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QRadioButton;
class QTimer;

namespace rudder::widgets {


// Reads a JSONL file of objects.  Throws rudder::Error naming the file and the line on bad input.
std::vector<std::string> jsonlStringFields(const std::string& path);
// The `field` of every line, in order (lines without it are an error naming the line).
// `rows` (optional) receives each prompt's line in the file, 0-based.
std::vector<std::string> jsonlPrompts(const std::string& path, const std::string& field,
                                      std::vector<int64_t>* rows = nullptr);

class PromptPanel : public QWidget {
    Q_OBJECT
public:
    explicit PromptPanel(QWidget* parent = nullptr);

    QString prompt() const;
    void setPrompt(const QString& p);
    QString templateName() const;
    void setTemplateName(const QString& t);
    // The prompts a run uses: the editor's text, or the dataset rows selected.
    std::vector<std::string> prompts() const;
    QString source() const;   // the dataset file when its rows are used, "" otherwise
    // prompts() with the dataset file and line of each, as the session records them.
    std::vector<PromptRecord> promptRecords() const;
    // Opens a dataset; returns "" or the error message, which the dataset tab also shows in place.
    QString openDataset(const QString& path, const QString& field = {});
    QString datasetStatus() const;   // the dataset tab's line: file and prompt count, or the problem
    bool datasetUsable() const;      // rows loaded ("Run on: dataset rows" can be chosen)
    void selectDatasetRows(const std::vector<int>& rows);
    void setPreview(const QString& rendered, qlonglong tokens);
    // The dataset tab's gold choice: "" (the Models panel's gold) or "answer:FIELD" (accuracy against
    // the reference answer in FIELD of each row).
    QString answerGold() const;
    void setAnswerGold(const QString& spec);

signals:
    void previewRequested(QString prompt, QString templ);
    void answerGoldChosen(QString spec);   // the user picked a reference field (or none) as the gold

private:
    void loadField();
    void showDatasetProblem(const QString& message);   // in place, on the dataset tab; rows cleared
    QPlainTextEdit* editor_;
    QComboBox* templ_;
    QPlainTextEdit* preview_;
    QLabel* tokens_;
    QLabel* datasetLabel_;
    QComboBox* field_;
    QComboBox* goldField_;
    QListWidget* rows_;
    QRadioButton* useEditor_;
    QRadioButton* useDataset_;
    QTimer* debounce_;
    QString datasetPath_;
};

} // namespace rudder::widgets
